//! The ledger's Merkle tree as C2SP `tlog-tiles` resources: which tile a path names, and
//! which hashes or entries it holds in a tree of a given size.
//!
//! A corridor ledger is a tiled log whose **entries are the 32-byte entry hashes** (so the
//! tiles are exactly the tree its checkpoints commit to: level-0 hashes are
//! `SHA-256(0x00 || entry_hash)`); the records themselves stay behind `LedgerReader`.
//!
//! - `tile/<L>/<N>[.p/<W>]`: at level `L` (0 to 63), hash `i` (0 to 255) of tile `N` is the
//!   tree hash of leaves `[(N*256 + i) * 256^L, (N*256 + i + 1) * 256^L)`: the node of height
//!   `8L` at index `N*256 + i`. A full tile is 256 hashes; a partial one (`.p/<W>`) its first
//!   `W` (1 to 255).
//! - `tile/entries/<N>[.p/<W>]`: entries `[N*256, N*256 + W)`, each as a big-endian `u16`
//!   length (32) and its bytes.
//!
//! `N` is written in three-digit groups, all but the last prefixed `x` (`x001/x234/067` for
//! 1234067); a path in any other spelling (leading zeros in `L` or `W`, a group of two
//! digits, `.p/256`) names no tile. A tile exists in a tree of size `s` when every hash or
//! entry it holds does: its last subtree is complete within `s`. Tiles never change once
//! they exist, so any that exists may be served forever; the partial tiles of the sizes a
//! checkpoint was signed at are among them.

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;

/// Highest tile level (`256^64` leaves is beyond any `u64` size, so only levels 0 to 7 can
/// hold anything).
pub const MAX_LEVEL: u8 = 63;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileKind {
    /// Merkle tree hashes at a level.
    Hashes {
        /// The tile level: its hashes are of subtrees of `256^level` leaves.
        level: u8,
    },
    /// Entries (entry bundles).
    Entries,
}

/// A tile, as a path names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    /// Hashes at a level, or entries.
    pub kind: TileKind,
    /// The tile's index within its level.
    pub index: u64,
    /// Hashes or entries it holds: 256, or 1 to 255 for a partial tile.
    pub width: u16,
}

impl Tile {
    /// The tile a path names, below `tile/` (e.g. `0/x001/234.p/7`, `entries/005`); `None`
    /// for a path of no tile.
    pub fn parse(path: &str) -> Option<Tile> {
        let (head, rest) = path.split_once('/')?;
        let kind = if head == "entries" {
            TileKind::Entries
        } else {
            let level = decimal(head)?;
            if level > u64::from(MAX_LEVEL) {
                return None;
            }
            TileKind::Hashes { level: level as u8 }
        };
        let (index_path, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w = decimal(w)?;
                if !(1..TILE_WIDTH).contains(&w) {
                    return None;
                }
                (i, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        Some(Tile {
            kind,
            index: index(index_path)?,
            width,
        })
    }

    /// The tile's path below `tile/`, as [`Tile::parse`] reads it.
    pub fn path(&self) -> String {
        let head = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".into(),
        };
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let index = groups
            .iter()
            .rev()
            .enumerate()
            .map(|(i, g)| {
                if i + 1 == groups.len() {
                    format!("{g:03}")
                } else {
                    format!("x{g:03}")
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        if u64::from(self.width) == TILE_WIDTH {
            format!("{head}/{index}")
        } else {
            format!("{head}/{index}.p/{}", self.width)
        }
    }

    /// Where the tile's content lies: for hashes, the tree height (`8 * level`) and the index
    /// of its first node at that height; for entries, height 0 and its first entry. With
    /// [`Tile::width`] nodes from there, all of which exist in a tree of size `size`, or
    /// `None` when the tile is not (yet) in it.
    pub fn span(&self, size: u64) -> Option<Span> {
        let height = match self.kind {
            TileKind::Hashes { level } => u32::from(level) * 8,
            TileKind::Entries => 0,
        };
        if height >= 64 {
            return None;
        }
        let first = self.index.checked_mul(TILE_WIDTH)?;
        let end = first.checked_add(u64::from(self.width))?;
        // The last node's subtree ends at `end * 2^height` leaves; it must fit the tree.
        let leaves = u128::from(end) << height;
        (leaves <= u128::from(size)).then_some(Span {
            height: height as u8,
            first,
            count: self.width,
        })
    }
}

/// The nodes a tile holds: `count` nodes of tree height `height` from index `first`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Height in the tree: 0 for leaves (and entries).
    pub height: u8,
    /// Index of the first node at that height.
    pub first: u64,
    /// Nodes in the tile.
    pub count: u16,
}

/// The encoding of an entry bundle holding `entries` (each a 32-byte entry hash).
pub fn entry_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8; 32]>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&32u16.to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// A decimal ASCII integer without leading zeros (`0` itself allowed).
fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// A tile index in three-digit groups, all but the last prefixed `x`.
fn index(path: &str) -> Option<u64> {
    let groups: Vec<&str> = path.split('/').collect();
    let mut n: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let digits = if i + 1 == groups.len() {
            *g
        } else {
            g.strip_prefix('x')?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(digits.parse().ok()?)?;
    }
    // One spelling per index: no leading `x000` group.
    (groups.len() == 1 || groups[0] != "x000").then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(level: u8, index: u64, width: u16) -> Tile {
        Tile {
            kind: TileKind::Hashes { level },
            index,
            width,
        }
    }

    #[test]
    fn paths_are_read_as_the_spec_spells_them() {
        assert_eq!(Tile::parse("0/000"), Some(hashes(0, 0, 256)));
        assert_eq!(
            Tile::parse("1/x001/x234/067"),
            Some(hashes(1, 1_234_067, 256))
        );
        assert_eq!(Tile::parse("2/005.p/17"), Some(hashes(2, 5, 17)));
        assert_eq!(
            Tile::parse("entries/x001/000.p/255"),
            Some(Tile {
                kind: TileKind::Entries,
                index: 1000,
                width: 255
            })
        );
        for bad in [
            "",
            "0",
            "0/",
            "0/0",
            "0/00",
            "0/0000",
            "00/000",
            "64/000",
            "-1/000",
            "0/x000/001",
            "0/001/002",
            "0/x01/002",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/07",
            "0/000.p/",
            "0/000.p",
            "0/000/",
            "0/x001",
            "entries/abc",
            "entry/000",
            "0/+01",
            "0/x18446744073709551/615",
        ] {
            assert_eq!(Tile::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_path_written_is_the_path_read() {
        for t in [
            hashes(0, 0, 256),
            hashes(3, 999, 1),
            hashes(1, 1000, 256),
            hashes(0, 1_234_067, 112),
            hashes(7, u64::MAX, 255),
            Tile {
                kind: TileKind::Entries,
                index: 42,
                width: 9,
            },
        ] {
            assert_eq!(Tile::parse(&t.path()), Some(t), "{}", t.path());
        }
        assert_eq!(hashes(1, 1_234_067, 256).path(), "1/x001/x234/067");
        assert_eq!(hashes(0, 5, 3).path(), "0/005.p/3");
    }

    #[test]
    fn a_tree_of_70000_has_the_tiles_the_spec_lists() {
        // 273 full level-0 tiles and one of width 112, one full level-1 tile and one of
        // width 17, one level-2 tile of width 1.
        let size = 70_000;
        assert!(hashes(0, 272, 256).span(size).is_some());
        assert!(hashes(0, 273, 256).span(size).is_none());
        assert_eq!(
            hashes(0, 273, 112).span(size),
            Some(Span {
                height: 0,
                first: 273 * 256,
                count: 112
            })
        );
        assert!(hashes(0, 273, 113).span(size).is_none());
        assert!(hashes(1, 0, 256).span(size).is_some());
        assert!(hashes(1, 1, 17).span(size).is_some());
        assert!(hashes(1, 1, 18).span(size).is_none());
        assert_eq!(
            hashes(2, 0, 1).span(size),
            Some(Span {
                height: 16,
                first: 0,
                count: 1
            })
        );
        assert!(hashes(2, 0, 2).span(size).is_none());
        assert!(hashes(3, 0, 1).span(size).is_none());
        // Any earlier partial tile is still there: its hashes never change.
        assert!(hashes(0, 273, 1).span(size).is_some());
        assert!(hashes(0, 0, 5).span(size).is_some());
        // Huge indices and levels hold nothing, without overflow.
        assert!(hashes(0, u64::MAX, 256).span(u64::MAX).is_none());
        assert!(hashes(63, 0, 1).span(u64::MAX).is_none());
        assert!(hashes(7, 0, 1).span(u64::MAX).is_some());
    }

    #[test]
    fn a_tree_of_256_has_a_full_level_0_tile_and_a_level_1_tile_of_width_1() {
        assert!(hashes(0, 0, 256).span(256).is_some());
        assert!(hashes(1, 0, 1).span(256).is_some());
        assert!(hashes(1, 0, 2).span(256).is_none());
        assert!(hashes(0, 0, 1).span(0).is_none());
    }

    #[test]
    fn an_entry_bundle_is_length_prefixed_hashes() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let bundle = entry_bundle([&a, &b]);
        assert_eq!(bundle.len(), 68);
        assert_eq!(&bundle[..2], &[0, 32]);
        assert_eq!(&bundle[2..34], &a);
        assert_eq!(&bundle[34..36], &[0, 32]);
        assert_eq!(&bundle[36..], &b);
    }
}
