//! Validated codes of trade: countries, currencies, HS codes, UN/LOCODEs, operator ids, money.

use std::fmt;
use std::str::FromStr;

use crate::error::ParseError;

/// Every officially assigned ISO 3166-1 alpha-2 code, sorted.
const ISO_3166_ALPHA2: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ \
BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK \
DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW \
GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB \
LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC \
NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC \
SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Active ISO 4217 currency codes with their minor-unit exponent, sorted by code.
const ISO_4217: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// Implements `Display`, `Debug` (as `Type(value)`), `FromStr` and `as_str` for a string newtype.
macro_rules! string_code {
    ($ty:ident, $field:literal) => {
        impl $ty {
            /// The code as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), &self.0)
            }
        }
        impl FromStr for $ty {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse($field, s)
            }
        }
    };
}

/// An ISO 3166-1 alpha-2 country code (`CN`, `KZ`, `AZ`, `GE`, `TR`), officially assigned.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(String);
string_code!(CountryCode, "country");

impl CountryCode {
    /// Parses a code; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ParseError::new(
                field,
                format!("expected an ISO 3166-1 alpha-2 code (two capital letters), got {s:?}"),
            ));
        }
        if !ISO_3166_ALPHA2.split(' ').any(|c| c == s) {
            return Err(ParseError::new(
                field,
                format!("{s:?} is not an assigned ISO 3166-1 alpha-2 country code"),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// An active ISO 4217 currency code with its minor-unit exponent.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(String);
string_code!(Currency, "currency");

impl Currency {
    /// Parses a code; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        ISO_4217
            .binary_search_by(|(c, _)| (*c).cmp(s))
            .map(|_| Self(s.to_owned()))
            .map_err(|_| {
                ParseError::new(
                    field,
                    format!("{s:?} is not an active ISO 4217 currency code"),
                )
            })
    }

    /// Number of decimal places of the minor unit (2 for CNY: fen; 0 for JPY; 3 for KWD).
    pub fn exponent(&self) -> u8 {
        ISO_4217
            .binary_search_by(|(c, _)| (*c).cmp(self.0.as_str()))
            .map(|i| ISO_4217[i].1)
            .unwrap_or(2)
    }
}

/// An amount of money: a currency and a non-negative integer count of its minor units.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Money {
    currency: Currency,
    minor: u64,
}

impl Money {
    /// `minor` units of `currency` (e.g. 150000 CNY = 1,500.00 yuan).
    pub fn new(currency: Currency, minor: u64) -> Self {
        Self { currency, minor }
    }

    /// Parses the wire pair (currency code, minor units).
    pub fn parse(field: &str, currency: &str, minor: u64) -> Result<Self, ParseError> {
        Ok(Self::new(
            Currency::parse(&format!("{field}.currency"), currency)?,
            minor,
        ))
    }

    /// The currency.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The amount in minor units.
    pub fn minor_units(&self) -> u64 {
        self.minor
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = u32::from(self.currency.exponent());
        if exp == 0 {
            return write!(f, "{} {}", self.minor, self.currency);
        }
        let scale = 10u64.pow(exp);
        write!(
            f,
            "{}.{:0width$} {}",
            self.minor / scale,
            self.minor % scale,
            self.currency,
            width = exp as usize
        )
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

/// A Harmonized System commodity code: 6 to 10 digits, of a chapter that exists (01 to 97,
/// not 77). The first 6 digits are the international HS subheading, the rest national.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HsCode(String);
string_code!(HsCode, "hs_code");

impl HsCode {
    /// Parses a code; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        if !(6..=10).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(
                field,
                format!("an HS code is 6 to 10 digits, got {s:?}"),
            ));
        }
        let chapter: u8 = s[..2].parse().unwrap_or(0);
        if chapter == 0 || chapter == 77 || chapter > 97 {
            return Err(ParseError::new(
                field,
                format!(
                    "HS chapter {:02} does not exist (chapters are 01 to 97, not 77)",
                    chapter
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The HS chapter (first two digits), 1 to 97.
    pub fn chapter(&self) -> u8 {
        self.0[..2].parse().unwrap_or(0)
    }

    /// The 6-digit international subheading.
    pub fn subheading(&self) -> &str {
        &self.0[..6]
    }
}

/// A UN/LOCODE: an ISO country code and three characters of A-Z or 2-9 (`CNXIY`, `KZKGS`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnLocode(String);
string_code!(UnLocode, "locode");

impl UnLocode {
    /// Parses a code (with or without the space after the country); `field` names the field.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        let compact: String = s.chars().filter(|c| *c != ' ').collect();
        if compact.len() != 5 {
            return Err(ParseError::new(
                field,
                format!("a UN/LOCODE is a country code and 3 characters (e.g. CNXIY), got {s:?}"),
            ));
        }
        CountryCode::parse(field, &compact[..2])?;
        if !compact[2..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'9').contains(&b))
        {
            return Err(ParseError::new(
                field,
                format!("UN/LOCODE location part of {s:?} must be A-Z or 2-9"),
            ));
        }
        Ok(Self(compact))
    }

    /// The country the location is in.
    pub fn country(&self) -> CountryCode {
        CountryCode(self.0[..2].to_owned())
    }
}

/// An economic operator's id, as EORI numbers are formed: the ISO country code of the
/// registering country, then 1 to 15 capital letters or digits (`CN91310000MA1K`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperatorId(String);
string_code!(OperatorId, "operator_id");

impl OperatorId {
    /// Parses an id; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        if !(3..=17).contains(&s.len())
            || !s
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(ParseError::new(
                field,
                format!(
                    "an operator id is a country code and 1 to 15 capital letters or digits, got {s:?}"
                ),
            ));
        }
        CountryCode::parse(field, &s[..2])?;
        Ok(Self(s.to_owned()))
    }

    /// The country that registered the operator.
    pub fn country(&self) -> CountryCode {
        CountryCode(self.0[..2].to_owned())
    }
}

/// Numerical value of a letter in the ISO 6346 check digit: A = 10 onwards, skipping 11, 22
/// and 33 (the multiples of 11), so Z = 38.
fn iso6346_letter_value(b: u8) -> u32 {
    let k = u32::from(b - b'A');
    // Skipped values before the letter: one from B (k = 1), L (11) and V (21) on.
    10 + k + k.div_ceil(10)
}

/// The ISO 6346 check sum of the first 10 characters of a container number, modulo 11: each
/// character's value (digits as such, letters by [`iso6346_letter_value`]) times 2 to the
/// power of its position. The check digit is this remainder, with 10 written as 0.
fn iso6346_remainder(first10: &[u8]) -> u32 {
    let sum: u32 = first10
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let v = if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                iso6346_letter_value(b)
            };
            v << i
        })
        .sum();
    sum % 11
}

/// An ISO 6346 container number: a 3-letter owner code, an equipment category (`U` freight
/// container, `J` detachable container-related equipment, `Z` trailer or chassis), a 6-digit
/// serial number and a check digit that matches the other ten characters
/// (`MSKU1234565`, `CSQU3054383`). Written without spaces.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerNumber(String);
string_code!(ContainerNumber, "container_number");

impl ContainerNumber {
    /// Parses a container number and verifies its check digit; `field` names the field.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        let b = s.as_bytes();
        let shape_ok = b.len() == 11
            && b[..3].iter().all(u8::is_ascii_uppercase)
            && b[4..].iter().all(u8::is_ascii_digit);
        if !shape_ok {
            return Err(ParseError::new(
                field,
                format!(
                    "an ISO 6346 container number is 3 capital letters, a category letter, \
                     6 digits and a check digit (e.g. MSKU1234565), got {s:?}"
                ),
            ));
        }
        if !matches!(b[3], b'U' | b'J' | b'Z') {
            return Err(ParseError::new(
                field,
                format!(
                    "equipment category of {s:?} must be U, J or Z, got {:?}",
                    char::from(b[3])
                ),
            ));
        }
        let expected = iso6346_remainder(&b[..10]) % 10;
        if u32::from(b[10] - b'0') != expected {
            return Err(ParseError::new(
                field,
                format!("check digit of {s:?} is wrong: ISO 6346 gives {expected}"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The 3-letter owner code (registered with the BIC).
    pub fn owner_code(&self) -> &str {
        &self.0[..3]
    }

    /// The equipment category: `U`, `J` or `Z`.
    pub fn category(&self) -> char {
        char::from(self.0.as_bytes()[3])
    }

    /// The 6-digit serial number.
    pub fn serial(&self) -> &str {
        &self.0[4..10]
    }
}

/// An ISO 6346 size and type code: 4 characters, a length code and a height/width code
/// (capital letters or digits), then a type group letter and a digit (`42G1`: 40 ft,
/// 8 ft 6 in high, general purpose; `45R1`: 40 ft high-cube reefer; `22G1`: 20 ft).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IsoEquipmentCode(String);
string_code!(IsoEquipmentCode, "iso_equipment_code");

impl IsoEquipmentCode {
    /// Parses a size and type code; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        let b = s.as_bytes();
        let ok = b.len() == 4
            && b[..2]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && b[2].is_ascii_uppercase()
            && b[3].is_ascii_digit();
        if !ok {
            return Err(ParseError::new(
                field,
                format!(
                    "an ISO 6346 size and type code is 2 size characters, a type letter and a \
                     digit (e.g. 42G1), got {s:?}"
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A UN/ECE Recommendation 21 package type code: 2 capital letters or digits (`CT` carton,
/// `PK` package, `PX` pallet, `1A` steel drum).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageType(String);
string_code!(PackageType, "package_type");

impl PackageType {
    /// Parses a package type code; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        if s.len() != 2
            || !s
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(ParseError::new(
                field,
                format!(
                    "a UN/ECE Rec. 21 package type is 2 capital letters or digits (e.g. CT), \
                     got {s:?}"
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A carrier's short code in the SCAC style: 2 to 4 capital letters (`KTZE`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CarrierCode(String);
string_code!(CarrierCode, "carrier_code");

impl CarrierCode {
    /// Parses a carrier code; `field` names the field in the error.
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        if !(2..=4).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ParseError::new(
                field,
                format!("a carrier code is 2 to 4 capital letters (e.g. KTZE), got {s:?}"),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_lookup() {
        assert!(ISO_4217.windows(2).all(|w| w[0].0 < w[1].0));
        let c: Vec<&str> = ISO_3166_ALPHA2.split(' ').collect();
        assert_eq!(c.len(), 249);
        assert!(c.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn country_codes() {
        for ok in ["CN", "KZ", "AZ", "GE", "TR"] {
            assert_eq!(CountryCode::parse("c", ok).unwrap().as_str(), ok);
        }
        for bad in ["", "cn", "C", "CHN", "XX", "ZZ", "C1"] {
            let e = CountryCode::parse("route[0].country", bad).unwrap_err();
            assert_eq!(e.field, "route[0].country");
        }
    }

    #[test]
    fn hs_codes() {
        assert_eq!(HsCode::parse("h", "930190").unwrap().chapter(), 93);
        assert_eq!(
            HsCode::parse("h", "8471300000").unwrap().subheading(),
            "847130"
        );
        for bad in [
            "84713",
            "84713000001",
            "847A30",
            "000000",
            "770000",
            "980000",
            "",
        ] {
            assert!(HsCode::parse("h", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn locodes() {
        assert_eq!(UnLocode::parse("l", "CN XIY").unwrap().as_str(), "CNXIY");
        assert_eq!(
            UnLocode::parse("l", "KZKGS").unwrap().country().as_str(),
            "KZ"
        );
        for bad in ["CNXI", "XXABC", "CNxiy", "CNXI1", "CNXIY1"] {
            assert!(UnLocode::parse("l", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn operator_ids() {
        let id = OperatorId::parse("o", "CN91310000MA1K").unwrap();
        assert_eq!(id.country().as_str(), "CN");
        for bad in ["CN", "XX123", "cn123", "CN-123", "CN1234567890123456"] {
            assert!(OperatorId::parse("o", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_and_currencies() {
        let m = Money::parse("value", "CNY", 150_075).unwrap();
        assert_eq!(m.to_string(), "1500.75 CNY");
        assert_eq!(Money::parse("v", "JPY", 5).unwrap().to_string(), "5 JPY");
        assert_eq!(
            Money::parse("v", "KWD", 1_005).unwrap().to_string(),
            "1.005 KWD"
        );
        let e = Money::parse("guarantee.amount", "XYZ", 1).unwrap_err();
        assert_eq!(e.field, "guarantee.amount.currency");
    }

    #[test]
    fn container_numbers_verify_the_iso_6346_check_digit() {
        // CSQU3054383 is the worked example of ISO 6346; MSKU1234565 the one in ebl.proto.
        for ok in ["CSQU3054383", "MSKU1234565", "KTZU1000017", "KTZJ1000010"] {
            let c = ContainerNumber::parse("c", ok).expect(ok);
            assert_eq!(c.as_str(), ok);
        }
        let c = ContainerNumber::parse("c", "CSQU3054383").expect("valid");
        assert_eq!(
            (c.owner_code(), c.category(), c.serial()),
            ("CSQ", 'U', "305438")
        );
        // Letter values skip the multiples of 11: A=10, K=21, L=23, U=32, V=34, Z=38.
        let values: Vec<u32> = b"AKLUVZ".iter().map(|&b| iso6346_letter_value(b)).collect();
        assert_eq!(values, [10, 21, 23, 32, 34, 38]);
        // A remainder of 10 is written as check digit 0.
        let ten = (0..1_000_000u32)
            .map(|n| format!("ABCU{n:06}"))
            .find(|s| iso6346_remainder(s.as_bytes()) == 10)
            .expect("some serial has remainder 10");
        ContainerNumber::parse("c", &format!("{ten}0")).expect("remainder 10 -> 0");

        for bad in [
            "MSKU1234566", // wrong check digit
            "CSQU3054384", // wrong check digit
            "MSKX1234565", // category X
            "MSK1234565",  // too short
            "MSKU 123456 5",
            "mskU1234565",
            "MSKU12345A5",
            "",
        ] {
            let e = ContainerNumber::parse("equipment[0].container_number", bad).expect_err(bad);
            assert_eq!(e.field, "equipment[0].container_number", "{bad}");
        }
        let e = ContainerNumber::parse("c", "MSKU1234566").expect_err("wrong check digit");
        assert!(e.reason.contains("check digit"), "{e}");
    }

    #[test]
    fn equipment_package_and_carrier_codes() {
        for ok in ["42G1", "22G1", "45R1", "L5G1"] {
            IsoEquipmentCode::parse("e", ok).expect(ok);
        }
        for bad in ["42G", "42GG", "4211", "42g1", "42G10"] {
            assert!(IsoEquipmentCode::parse("e", bad).is_err(), "{bad}");
        }
        for ok in ["CT", "PK", "1A"] {
            PackageType::parse("p", ok).expect(ok);
        }
        for bad in ["C", "CTN", "ct", ""] {
            assert!(PackageType::parse("p", bad).is_err(), "{bad}");
        }
        for ok in ["KT", "KTZE"] {
            CarrierCode::parse("c", ok).expect(ok);
        }
        for bad in ["K", "KTZEX", "KT1", "ktze"] {
            assert!(CarrierCode::parse("c", bad).is_err(), "{bad}");
        }
    }
}
