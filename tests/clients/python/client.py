#!/usr/bin/env python3
"""A corridor client in Python, written from the wire format alone: an integrator's example.

It takes one consignment through a running corridor (``corridor up``) from outside the Rust
code base, with nothing but the repository's ``proto/`` files, proto/SIGNING.md and the
``corridor`` binary for the steps that belong to customs authorities and officers. In order,
it shows:

1. **Stubs from the protos.** Python classes and gRPC stubs are generated at run time from
   ``proto/corridor/v1/*.proto`` with ``grpc_tools.protoc`` into a temporary directory
   (nothing generated is committed). The signing is first checked against the worked example
   of proto/SIGNING.md (``crates/corridor-proto/testdata/signing-example.json``).
2. **Operators and their keys.** The client makes its own ed25519 keys for a new shipper and a
   new carrier and has each registered in the AEO registry by its country's customs
   authority, as an authority would (``corridor aeo operator register`` with the development
   authority key of the corridor's data directory). It then waits until the first customs
   node's copy of the registry holds them: ``CustomsNode.GetNodeStatus`` with
   ``min_registry_entries`` = the size of the registry's ledger (``LedgerReader.GetCheckpoint``).
3. **Signed documents.** A bill of lading (signed by the carrier), its ISSUE transfer entry
   (carrier) and a declaration (the shipper, declarant and holder at once), each encoded with
   the generated classes and signed as proto/SIGNING.md says: ed25519 over the DSSE PAE of
   payload type and payload, key id = hex SHA-256 of the raw 32-byte public key.
4. **Submission.** Straight to the first customs node (``CustomsNode.SubmitDeclaration``); the
   consignment id it answers is the SHA-256 of the declaration's payload bytes.
   **Refusals.** Around it, the negative cases of ``negative.py``: requests the written
   contract (proto/ERRORS.md, SIGNING.md, LIMITS.md and the protos' comments) says must be
   refused, each checked for its status code, the message the contract states and an
   unchanged ledger; before the submission a flipped signature bit, a wrong payload type and
   a message over the node's limit; after it the same envelope again, the same declaration in
   another envelope, a second declaration on the bill, border events under a wrong payload
   type, by another country's officer and by an unknown key, and a double spend of a bill at
   the declarant.
5. **The borders.** At each country the officers' steps (``corridor arrive``, ``decide
   release`` when the node waits for an officer, ``exit``) with the development officer keys,
   at the border posts the declaration names (``--post``, a UN/LOCODE the topology lists);
   between countries the client follows the previous node (``CustomsNode.WatchConsignment``,
   ``follow``) until it has handed the consignment over, and at the last country until it is
   completed.
6. **Through the declarant.** A second bill, signed by the client's carrier, is put on the
   declarant's platform with its ISSUE entry (``Declarant.SubmitConsignment`` with
   ``bill_of_lading_envelope`` and ``transfer_chain``), issued to an operator the declarant
   acts for (``Declarant.GetPlatformStatus`` lists them), which the declarant declares for
   from plain data. The declarant holds no key of the carrier: its copy of the registry
   vouches for the carrier's signature. The client checks that ``Declarant.GetBill`` shows
   the bill and chain exactly as it signed them, then withdraws the declaration
   (``Declarant.CancelConsignment``).

Usage, against ``corridor up --ports auto --data DIR``::

    pip install -r tests/clients/python/requirements.txt      # in a virtual environment
    python tests/clients/python/client.py DIR/topology.toml --corridor target/debug/corridor

It speaks plaintext gRPC, or mutual TLS with the corridor's client certificate when the
topology has a ``[tls]`` section (``corridor keys init --tls``). It prints the consignment id,
the steps and every node's events, one ``negative <case>: <CODE>: <message>`` line per
negative case and ``negative cases: N passed (...)``, and ``completed <id>`` last.
Exit status: 0 only when every negative case passed and the consignment completed; 1 on any
error, with a message; 2 on bad usage. Needs Python 3.11 or later (``tomllib``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.resources
import json
import math
import os
import secrets
import string
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from types import SimpleNamespace

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import negative

REPO = Path(__file__).resolve().parents[3]

# Payload types of the documents the client signs (proto/SIGNING.md, section 3).
PT_BILL_OF_LADING = "application/vnd.corridor.ebl.v1+protobuf"
PT_TRANSFER_ENTRY = "application/vnd.corridor.ebl-transfer.v1+protobuf"
PT_DECLARATION = "application/vnd.corridor.declaration.v1+protobuf"

# The route this client declares, with the UN/LOCODEs of crates/corridor-core's examples.
ROUTE = ["CN", "KZ", "AZ", "TR"]
# The border posts it declares, country by country: (entry, exit), UN/LOCODEs of posts the
# topology lists (`border_posts`; `corridor topology show`). The first country has no entry
# post (the goods are presented for export at one of its posts), the last no exit post.
POSTS = {
    "CN": ("", "CNKHG"),
    "KZ": ("KZKGS", "KZAAU"),
    "AZ": ("AZBAK", "AZBKS"),
    "TR": ("TRKSY", ""),
}

HOUR = 3_600_000_000  # microseconds: every corridor time is microseconds since the Unix epoch
DAY = 24 * HOUR
# How long one wait on a node may take (a registry copy catching up, a hand-over).
WAIT_S = 60


class ClientError(Exception):
    """A step failed; the message says which and why."""


# ---- 1. stubs from the protos ----------------------------------------------------------


def generate_stubs(proto_dir: Path, out_dir: Path) -> SimpleNamespace:
    """Compiles proto_dir/corridor/v1/*.proto into out_dir and imports the modules."""
    from grpc_tools import protoc

    protos = sorted(str(p) for p in (proto_dir / "corridor" / "v1").glob("*.proto"))
    if not protos:
        raise ClientError(f"no .proto files under {proto_dir / 'corridor' / 'v1'}")
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"--proto_path={proto_dir}",
            f"--proto_path={well_known}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            *protos,
        ]
    )
    if code != 0:
        raise ClientError(f"grpc_tools.protoc failed on {proto_dir} (exit {code})")
    sys.path.insert(0, str(out_dir))

    def load(name: str):
        return importlib.import_module(f"corridor.v1.{name}")

    return SimpleNamespace(
        envelope=load("envelope_pb2"),
        ebl=load("ebl_pb2"),
        declaration=load("declaration_pb2"),
        customs=load("customs_pb2"),
        customs_grpc=load("customs_pb2_grpc"),
        declarant=load("declarant_pb2"),
        declarant_grpc=load("declarant_pb2_grpc"),
        ledger_service=load("ledger_service_pb2"),
        ledger_service_grpc=load("ledger_service_pb2_grpc"),
    )


# ---- 2. keys and signatures (proto/SIGNING.md) -----------------------------------------


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: the bytes a signature covers (SIGNING.md, 2)."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


class Signer:
    """An ed25519 key as corridor uses it (SIGNING.md, 1)."""

    def __init__(self, key: Ed25519PrivateKey | None = None):
        self._key = key or Ed25519PrivateKey.generate()
        self.public_raw = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        # The key id: lowercase hex SHA-256 of the 32 raw public key bytes (not of the PEM).
        self.key_id = hashlib.sha256(self.public_raw).hexdigest()

    def public_pem(self) -> bytes:
        """The public key file corridor reads: SubjectPublicKeyInfo PEM (RFC 8410)."""
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, payload_type: str, payload: bytes) -> bytes:
        return self._key.sign(pae(payload_type, payload))


def envelope(pb, payload_type: str, document, *signers: Signer):
    """A document in a signed Envelope: its protobuf bytes, signed as they are sent."""
    payload = document.SerializeToString()
    env = pb.envelope.Envelope(payload_type=payload_type, payload=payload)
    for s in signers:
        env.signatures.add(keyid=s.key_id, sig=s.sign(payload_type, payload))
    return env


def document_id(env) -> bytes:
    """A document's id: SHA-256 of its payload bytes exactly as signed (SIGNING.md, 4)."""
    return hashlib.sha256(env.payload).digest()


def check_signing_example(pb, vector_file: Path) -> None:
    """Reproduces the worked example of SIGNING.md, section 5, byte for byte."""
    v = json.loads(vector_file.read_text())
    f = v["fields"]
    signer = Signer(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["seed"])))
    doc = pb.declaration.DeclarationCancellation(
        declaration_id=bytes.fromhex(f["declaration_id"]),
        reason=f["reason"],
        cancelled_at_unix_micros=f["cancelled_at_unix_micros"],
    )
    env = envelope(pb, v["payload_type"], doc, signer)
    checks = {
        "public_key": signer.public_raw.hex(),
        "key_id": signer.key_id,
        "payload": env.payload.hex(),
        "document_id": document_id(env).hex(),
        "pae": pae(v["payload_type"], env.payload).hex(),
        "signature": env.signatures[0].sig.hex(),
        "envelope": env.SerializeToString().hex(),
        "envelope_id": hashlib.sha256(env.SerializeToString()).hexdigest(),
    }
    for name, got in checks.items():
        if got != v[name]:
            raise ClientError(f"{vector_file}: {name} is {got}, the spec says {v[name]}")


# ---- the corridor: its topology file and the `corridor` binary --------------------------


class Corridor:
    """A running corridor, as its topology.toml (written by `corridor up`) describes it."""

    def __init__(self, topology: Path, binary: str):
        try:
            t = tomllib.loads(topology.read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ClientError(f"cannot read the topology {topology}: {e}") from e
        self.topology = topology
        self.binary = binary
        base = topology.parent  # paths in the topology are relative to its directory
        try:
            self.registry = t["registry"]["listen"]
            self.declarant = t["declarant"]["listen"]
            self.countries = [c["code"] for c in t["countries"]]
            self.node = {c["code"]: c["node"]["listen"] for c in t["countries"]}
            # Each country's border posts, UN/LOCODEs in the topology's order.
            self.posts = {
                c["code"]: [p["locode"] for p in c.get("border_posts", [])]
                for c in t["countries"]
            }
            self.authority_key = {
                c["code"]: base / c["authority_key"]["private"] for c in t["countries"]
            }
            self.officer_key = {
                c["code"]: base / c["officers"][0]["key"]["private"] for c in t["countries"]
            }
            # With a [tls] section the services speak mutual TLS only: trust the corridor's
            # CA and present the client certificate (`corridor keys init --tls` makes them).
            self.credentials = None
            if "tls" in t:
                tls = t["tls"]
                self.credentials = grpc.ssl_channel_credentials(
                    root_certificates=(base / tls["ca"]).read_bytes(),
                    private_key=(base / tls["client"]["key"]).read_bytes(),
                    certificate_chain=(base / tls["client"]["cert"]).read_bytes(),
                )
        except (KeyError, IndexError, OSError) as e:
            raise ClientError(f"the topology {topology} lacks what a client needs: {e!r}") from e
        # The share of the customs value a guarantee must cover, per country's risk profile.
        self.guarantee_share = max(
            c.get("risk", {}).get("guarantee_share", 0.2) for c in t["countries"]
        )

    def channel(self, address: str) -> grpc.Channel:
        """A gRPC channel to one of the corridor's services: plaintext, or mutual TLS."""
        if self.credentials is None:
            return grpc.insecure_channel(address)
        return grpc.secure_channel(address, self.credentials)

    def cli(self, *args: str) -> str:
        """Runs `corridor ARGS --topology T ...`; returns its output, or raises."""
        verb, rest = args[0], args[1:]
        cmd = [self.binary, verb, "--topology", str(self.topology), *rest]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ClientError(f"cannot run {' '.join(cmd)}: {e}") from e
        if r.returncode != 0:
            why = (r.stderr or r.stdout).strip()
            raise ClientError(f"`corridor {verb}` exited {r.returncode}: {why}")
        return r.stdout.strip()


def register_operator(
    c: Corridor, workdir: Path, operator_id: str, name: str, address: str, key: Signer
) -> None:
    """Has the operator's customs authority register it with its public key."""
    pub = workdir / f"{operator_id}.key.pub"
    pub.write_bytes(key.public_pem())
    country = operator_id[:2]
    out = c.cli(
        "aeo",
        "operator",
        "register",
        "--id",
        operator_id,
        "--name",
        name,
        "--address",
        address,
        "--operator-key",
        str(pub),
        "--key",
        str(c.authority_key[country]),
    )
    print(f"registered {operator_id} (key {key.key_id[:16]}...) by the {country} authority: {out}")


def registry_size(pb, c: Corridor) -> int:
    """The number of entries of the AEO registry's ledger, from its signed checkpoint."""
    with c.channel(c.registry) as ch:
        reader = pb.ledger_service_grpc.LedgerReaderStub(ch)
        return reader.GetCheckpoint(pb.ledger_service.GetCheckpointRequest(), timeout=WAIT_S).size


def wait_for_registry_copy(pb, c: Corridor, node_channel) -> None:
    """Waits until the first node's copy of the AEO registry holds every registration."""
    size = registry_size(pb, c)
    node = pb.customs_grpc.CustomsNodeStub(node_channel)
    status = node.GetNodeStatus(
        pb.customs.NodeStatusRequest(min_registry_entries=size), timeout=WAIT_S
    )
    if status.registry_entries < size:
        raise ClientError(
            f"the {status.country} node's copy of the registry has {status.registry_entries} "
            f"entries, the registry {size}"
        )
    print(f"{status.country} node has the registry's {size} entries")


# ---- 3. the documents --------------------------------------------------------------------

# ISO 6346 letter values: A = 10 onwards, skipping the multiples of 11 (so Z = 38).
_LETTER_VALUE: dict[str, int] = {}
_v = 10
for _ch in string.ascii_uppercase:
    if _v % 11 == 0:
        _v += 1
    _LETTER_VALUE[_ch] = _v
    _v += 1


def container_number(owner: str, serial: int) -> str:
    """An ISO 6346 number: owner code, category U, 6-digit serial, check digit."""
    first10 = f"{owner}U{serial:06d}"
    total = sum(
        (int(ch) if ch.isdigit() else _LETTER_VALUE[ch]) << i for i, ch in enumerate(first10)
    )
    return f"{first10}{total % 11 % 10}"


def address(pb, street: str, city: str, postal: str, country: str):
    return pb.ebl.Address(street=street, city=city, postal_code=postal, country_code=country)


def build_bill(pb, ref: str, shipper: str, carrier: str, now: int, goods: list[dict]):
    """A straight bill, Xi'an -> Aktau (rail) -> Baku (ferry) -> Istanbul (rail)."""
    ebl = pb.ebl
    bill = ebl.BillOfLading(
        transport_document_reference=ref,
        issued_at_unix_micros=now,
        bill_of_lading_type=ebl.BILL_OF_LADING_TYPE_SHIPPED_ON_BOARD,
        freight_payment_term=ebl.FREIGHT_PAYMENT_TERM_PREPAID,
        shipper=ebl.Party(
            operator_id=shipper,
            legal_name="Xi'an Python Solar Co., Ltd.",
            address=address(pb, "12 Keji Road", "Xi'an", "710075", "CN"),
        ),
        consignee=ebl.Party(
            operator_id="TR3810234567",
            legal_name="Anadolu Enerji Ithalat A.S.",
            address=address(pb, "Buyukdere Caddesi 185", "Istanbul", "34394", "TR"),
        ),
        carrier=ebl.Party(
            operator_id=carrier,
            legal_name="Steppe Python Rail LLP",
            address=address(pb, "Kunayev Street 12", "Astana", "010000", "KZ"),
        ),
        carrier_code="PYRL",
        place_of_loading="CNXIY",
        place_of_discharge="TRIST",
    )
    for g in goods:
        bill.equipment.add(
            container_number=g["container"],
            iso_equipment_code="42G1",
            tare_weight_grams=3_750_000,
            seals=[ebl.Seal(number=g["seal"], source=ebl.SEAL_SOURCE_CARRIER)],
        )
        bill.consignment_items.add(
            hs_code=g["hs"],
            description_of_goods=g["description"],
            number_of_packages=g["packages"],
            package_type=g["package_type"],
            gross_weight_grams=g["gross_g"],
            declared_value=ebl.Money(currency="USD", amount_minor=g["value_cents"]),
            origin_country="CN",
            container_numbers=[g["container"]],
        )
    legs = [
        (ebl.TRANSPORT_MODE_RAIL, "Chang'an container train", "CNXIY", "KZAAU", 2 * HOUR, 6 * DAY),
        (
            ebl.TRANSPORT_MODE_FERRY,
            "Barda",
            "KZAAU",
            "AZBAK",
            6 * DAY + 12 * HOUR,
            7 * DAY + 12 * HOUR,
        ),
        (
            ebl.TRANSPORT_MODE_RAIL,
            "Baku-Tbilisi-Kars block train",
            "AZBAK",
            "TRIST",
            8 * DAY,
            12 * DAY,
        ),
    ]
    for seq, (mode, name, frm, to, dep, arr) in enumerate(legs, start=1):
        bill.transport_legs.add(
            sequence=seq,
            mode=mode,
            transport_name=name,
            from_location=frm,
            to_location=to,
            planned_departure_unix_micros=now + dep,
            planned_arrival_unix_micros=now + arr,
        )
    return bill


def build_issue(pb, bill_id: bytes, carrier: str, shipper: str, now: int):
    """The bill's ISSUE entry (seq 0): the carrier issues it to the shipper."""
    return pb.ebl.TransferEntry(
        document_id=bill_id,
        seq=0,
        action=pb.ebl.TRANSFER_ACTION_ISSUE,
        actor=carrier,
        to_holder=shipper,
        time_unix_micros=now,
    )


def build_declaration(
    pb, ref: str, bill_id: bytes, shipper: str, now: int, goods: list[dict], guarantee_share: float
):
    """Export from CN, transit through KZ and AZ, import into TR; the bill's items one by one."""
    d, ebl = pb.declaration, pb.ebl
    rail = d.TransportMeans(mode=ebl.TRANSPORT_MODE_RAIL, identification="X8024")
    steps = [
        ("CN", d.DECLARATION_ROLE_EXPORT, HOUR, rail),
        ("KZ", d.DECLARATION_ROLE_TRANSIT, 3 * DAY, rail),
        (
            "AZ",
            d.DECLARATION_ROLE_TRANSIT,
            7 * DAY + 12 * HOUR,
            d.TransportMeans(
                mode=ebl.TRANSPORT_MODE_FERRY, identification="Barda", nationality="AZ"
            ),
        ),
        (
            "TR",
            d.DECLARATION_ROLE_IMPORT,
            10 * DAY,
            d.TransportMeans(mode=ebl.TRANSPORT_MODE_RAIL, identification="BTK block train"),
        ),
    ]
    decl = d.Declaration(
        declaration_reference=ref,
        bill_of_lading_id=bill_id,
        declarant_operator_id=shipper,  # the shipper declares for itself:
        holder_operator_id=shipper,  # one signature, the declarant's
        created_at_unix_micros=now,
    )
    for country, role, arrival, means in steps:
        entry, exit_ = POSTS[country]
        decl.route.add(
            country=country,
            role=role,
            entry_border_post=entry,
            exit_border_post=exit_,
            planned_arrival_unix_micros=now + arrival,
            border_transport_means=means,
        )
    for n, g in enumerate(goods, start=1):
        decl.items.add(
            item_number=n,
            hs_code=g["hs"],
            description_of_goods=g["description"],
            number_of_packages=g["packages"],
            package_type=g["package_type"],
            gross_weight_grams=g["gross_g"],
            net_weight_grams=g["net_g"],
            customs_value=ebl.Money(currency="USD", amount_minor=g["value_cents"]),
            origin_country="CN",
            container_numbers=[g["container"]],
        )
    # The guarantee, in the items' currency, covers the nodes' share of the customs value
    # (computed in floating point as the nodes do, so that the amount is never one short).
    value = sum(g["value_cents"] for g in goods)
    decl.guarantee.reference = f"TIR PY{ref[-6:]}"
    decl.guarantee.amount.currency = "USD"
    decl.guarantee.amount.amount_minor = math.ceil(value * guarantee_share)
    decl.guarantee.guarantor_name = "KazATO, Kazakhstan's TIR guaranteeing association"
    return decl


def make_goods(serial: int) -> list[dict]:
    """Two containers of solar equipment, numbered serial and serial + 1."""
    return [
        dict(
            hs="8541430000",
            description="Photovoltaic modules, 450 W",
            packages=620,
            package_type="PX",
            gross_g=14_260_000,
            net_g=13_020_000,
            value_cents=9_300_000,
            container=container_number("PYC", serial),
            seal=f"PY{secrets.randbelow(10**8):08d}",
        ),
        dict(
            hs="8504409000",
            description="Solar string inverters",
            packages=300,
            package_type="CT",
            gross_g=6_900_000,
            net_g=6_150_000,
            value_cents=12_750_000,
            container=container_number("PYC", serial + 1),
            seal=f"PY{secrets.randbelow(10**8):08d}",
        ),
    ]


# ---- 5. the borders ----------------------------------------------------------------------


def follow_until(pb, channel, country: str, consignment_id: str, wanted: int):
    """Prints a node's events for the consignment, following them until the state `wanted`."""
    states = pb.customs.ConsignmentState
    stub = pb.customs_grpc.CustomsNodeStub(channel)
    request = pb.customs.WatchConsignmentRequest(consignment_id=consignment_id, follow=True)
    try:
        for event in stub.WatchConsignment(request, timeout=WAIT_S):
            print(f"  {event.country} #{event.seq} {event.kind}: {event.detail}")
            if event.state == wanted:
                return event
    except grpc.RpcError as e:
        raise ClientError(
            f"following {consignment_id} at {country}: {e.code().name}: {e.details()}"
        ) from e
    raise ClientError(
        f"{country} stopped the consignment {consignment_id} before {states.Name(wanted)}"
    )


def officer(c: Corridor, verb: str, country: str, consignment_id: str, *rest: str) -> str:
    """An officer's step at `country`, signed with the development officer key."""
    out = c.cli(
        verb, "--country", country, "--key", str(c.officer_key[country]), consignment_id, *rest
    )
    print(f"{country} {verb}: {out}")
    # "<id>: <state> (<lane> lane); entry <seq> <hash>"
    return out.split(": ", 1)[1].split(" (", 1)[0] if ": " in out else out


def run(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="corridor-py-") as tmp:
        work = Path(tmp)
        c = Corridor(args.topology, args.corridor)
        if c.countries != ROUTE:
            raise ClientError(
                f"this client declares the route {ROUTE}, the corridor is {c.countries}"
            )

        pb = generate_stubs(args.proto_dir, work / "stubs")
        check_signing_example(pb, args.signing_example)
        print(f"stubs generated from {args.proto_dir}; SIGNING.md's worked example reproduced")
        channels = {cc: c.channel(c.node[cc]) for cc in ROUTE}
        try:
            return drive(pb, c, channels, work, args)
        finally:
            for ch in channels.values():
                ch.close()


def drive(pb, c: Corridor, channels: dict, work: Path, args: argparse.Namespace) -> str:
    states = pb.customs.ConsignmentState
    lanes = pb.customs.Lane
    first = ROUTE[0]

    # 2. New operators with their own keys, registered by their authorities.
    suffix = args.suffix or secrets.token_hex(3).upper()  # unique per run: 6 of [0-9A-F]
    shipper_id, carrier_id = f"CN9161PY{suffix}", f"KZ1805PY{suffix}"
    shipper, carrier = Signer(), Signer()
    register_operator(
        c, work, shipper_id, "Xi'an Python Solar Co., Ltd.", "12 Keji Road, Xi'an", shipper
    )
    register_operator(
        c, work, carrier_id, "Steppe Python Rail LLP", "12 Kunayev Street, Astana", carrier
    )
    wait_for_registry_copy(pb, c, channels[first])

    # 3. The documents, all dated now (the corridor runs the system clock) and signed.
    now = time.time_ns() // 1000
    # Four containers: serial and serial + 1 here, the next two through the declarant (6.).
    serial = secrets.randbelow(10**6 - 3)
    goods = make_goods(serial)
    bill = build_bill(pb, f"PYRL-{suffix}", shipper_id, carrier_id, now, goods)
    bill_env = envelope(pb, PT_BILL_OF_LADING, bill, carrier)
    bill_id = document_id(bill_env)
    issue_env = envelope(
        pb, PT_TRANSFER_ENTRY, build_issue(pb, bill_id, carrier_id, shipper_id, now), carrier
    )
    declaration = build_declaration(
        pb, f"PYDEC-{suffix}", bill_id, shipper_id, now, goods, c.guarantee_share
    )
    decl_env = envelope(pb, PT_DECLARATION, declaration, shipper)
    expected_id = document_id(decl_env).hex()
    print(f"bill {bill_id.hex()} signed by {carrier_id}; declaration signed by {shipper_id}")
    cases = negative.Cases(
        pb,
        c,
        channels[first],
        shipper_id=shipper_id,
        shipper=shipper,
        carrier=carrier,
        bill_env=bill_env,
        issue_env=issue_env,
        declaration=declaration,
        decl_env=decl_env,
        goods=goods,
        suffix=suffix,
    )
    cases.before_declaration()  # what the first node refuses before anything is declared

    # 4. Straight to the first customs node.
    node = pb.customs_grpc.CustomsNodeStub(channels[first])
    receipt = node.SubmitDeclaration(
        pb.customs.SubmitDeclarationRequest(
            declaration=decl_env, bill_of_lading=bill_env, transfer_chain=[issue_env]
        ),
        timeout=WAIT_S,
    )
    cid = receipt.consignment_id
    print(f"consignment {cid}")
    if cid != expected_id:
        raise ClientError(
            f"the node's consignment id {cid} is not the SHA-256 of the declaration's payload, "
            f"{expected_id}"
        )
    print(
        f"{first}: {states.Name(receipt.state)}, {lanes.Name(receipt.lane)} (entry {receipt.seq})"
    )
    cases.after_declaration(receipt)  # repeats, conflicts and roles, before the arrival

    # 5. Border by border, at the declared posts: the goods arrive at each country's entry
    # post (at the first country, which has none declared, at its first post in the
    # topology, where they are presented for export) and leave at its exit post.
    for i, cc in enumerate(ROUTE):
        if i > 0:
            prev = ROUTE[i - 1]
            follow_until(pb, channels[prev], prev, cid, states.CONSIGNMENT_STATE_HANDED_OVER)
        entry, exit_ = POSTS[cc]
        if not entry:
            if not c.posts[cc]:
                raise ClientError(f"the topology lists no border post of {cc}")
            entry = c.posts[cc][0]
        state = officer(c, "arrive", cc, cid, "--post", entry)
        if state == "awaiting an officer":
            state = officer(c, "decide", cc, cid, "release", "--findings", "documents in order")
        if state not in ("released", "completed"):
            raise ClientError(f"{cc} did not release {cid}: {state}")
        if i + 1 < len(ROUTE):
            state = officer(c, "exit", cc, cid, "--post", exit_)
            if state not in ("exited", "handed over"):
                raise ClientError(f"{cc} did not let {cid} exit: {state}")
    last = ROUTE[-1]
    follow_until(pb, channels[last], last, cid, states.CONSIGNMENT_STATE_COMPLETED)

    # 6. A bill the client's carrier signs, put on the declarant's platform.
    through_declarant(pb, c, carrier_id, carrier, suffix, serial + 2)
    return cid


# ---- 6. through the declarant ------------------------------------------------------------


def through_declarant(
    pb, c: Corridor, carrier_id: str, carrier: Signer, suffix: str, serial: int
) -> None:
    """Has the declarant take a bill the client's carrier signed, with its ISSUE entry, and
    declare it for an operator it acts for; checks the platform's record; withdraws it."""
    d, states = pb.declarant, pb.customs.ConsignmentState
    size = registry_size(pb, c)
    with c.channel(c.declarant) as ch:
        declarant = pb.declarant_grpc.DeclarantStub(ch)
        # The declarant's copy of the registry must know the carrier's key.
        status = declarant.GetPlatformStatus(
            d.PlatformStatusRequest(min_registry_entries=size), timeout=WAIT_S
        )
        if status.registry_entries < size:
            raise ClientError(
                f"the declarant's copy of the registry has {status.registry_entries} entries, "
                f"the registry {size}"
            )
        if carrier_id in status.operators:
            raise ClientError(f"the declarant holds a key of {carrier_id}: it should not")
        holder = next((o for o in status.operators if o.startswith(ROUTE[0])), None)
        if holder is None:
            raise ClientError(
                f"the declarant acts for no operator of {ROUTE[0]}: {list(status.operators)}"
            )
        now = time.time_ns() // 1000
        goods = make_goods(serial)
        bill = build_bill(pb, f"PYRL-{suffix}-D", holder, carrier_id, now, goods)
        bill_env = envelope(pb, PT_BILL_OF_LADING, bill, carrier)
        bill_id = document_id(bill_env)
        issue_env = envelope(
            pb, PT_TRANSFER_ENTRY, build_issue(pb, bill_id, carrier_id, holder, now), carrier
        )
        # The declaration as plain data: the declarant signs it, as `holder`.
        declaration = build_declaration(
            pb, f"PYDECL-{suffix}", bill_id, holder, now, goods, c.guarantee_share
        )
        answer = declarant.SubmitConsignment(
            d.SubmitConsignmentRequest(
                declaration=declaration,
                bill_of_lading_envelope=bill_env,
                transfer_chain=[issue_env],
            ),
            timeout=WAIT_S,
        )
        if answer.bill_of_lading_id != bill_id.hex():
            raise ClientError(
                f"the declarant names bill {answer.bill_of_lading_id}, the client signed "
                f"{bill_id.hex()}"
            )
        if answer.first_node.state != states.CONSIGNMENT_STATE_AWAITING_ARRIVAL:
            raise ClientError(
                f"the first node left {answer.consignment_id} "
                f"{states.Name(answer.first_node.state)}"
            )
        print(
            f"declarant: bill {bill_id.hex()} signed by {carrier_id} declared for {holder}: "
            f"consignment {answer.consignment_id} at {answer.first_country}"
        )
        record = declarant.GetBill(
            d.GetBillRequest(bill_of_lading_id=bill_id.hex()), timeout=WAIT_S
        )
        as_sent = (
            record.bill_of_lading.SerializeToString() == bill_env.SerializeToString()
            and [e.SerializeToString() for e in record.chain] == [issue_env.SerializeToString()]
        )
        if not as_sent or record.holder != holder or record.last_action != "ISSUE":
            raise ClientError(
                f"the declarant's record of bill {bill_id.hex()} is not the bill and chain sent: "
                f"held by {record.holder!r}, last {record.last_action!r}, "
                f"{len(record.chain)} entries"
            )
        print(f"declarant: bill {bill_id.hex()} on the platform as signed, held by {holder}")
        receipt = declarant.CancelConsignment(
            d.CancelConsignmentRequest(
                consignment_id=answer.consignment_id,
                reason="an example: withdrawn before arrival",
            ),
            timeout=WAIT_S,
        )
        print(f"declarant: {answer.consignment_id} {states.Name(receipt.state)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "topology",
        type=Path,
        help="the running corridor's topology.toml (written by `corridor up`)",
    )
    p.add_argument(
        "--corridor",
        default=os.environ.get("CORRIDOR_BIN", "corridor"),
        help="the corridor binary (default: $CORRIDOR_BIN, else `corridor` on PATH)",
    )
    p.add_argument(
        "--proto-dir",
        type=Path,
        default=REPO / "proto",
        help="the directory holding corridor/v1/*.proto (default: the repository's)",
    )
    p.add_argument(
        "--signing-example",
        type=Path,
        default=REPO / "crates/corridor-proto/testdata/signing-example.json",
        help="SIGNING.md's worked example, checked before anything is signed",
    )
    p.add_argument("--suffix", help="suffix of the operator ids and references (default: random)")
    args = p.parse_args(argv)
    if args.suffix is not None and not (
        1 <= len(args.suffix) <= 7
        and all(ch in string.ascii_uppercase + string.digits for ch in args.suffix)
    ):
        p.error("--suffix: 1 to 7 capital letters or digits")
    try:
        cid = run(args)
    except ClientError as e:
        print(f"client.py: {e}", file=sys.stderr)
        return 1
    except grpc.RpcError as e:
        print(f"client.py: gRPC {e.code().name}: {e.details()}", file=sys.stderr)
        return 1
    print(f"completed {cid}")
    return 0


if __name__ == "__main__":
    # Run as the module `client`, the one negative.py imports: one ClientError, one of each.
    import client

    sys.exit(client.main())
