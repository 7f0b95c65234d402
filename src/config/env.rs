//! Which environment variables are configuration: `FLOCKRELAY_<SECTION>__<KEY>`
//! for a section the configuration has (`FLOCKRELAY_DELIVERY__TIMEOUT`), and
//! nothing else. Other `FLOCKRELAY_*` variables are not ours to refuse: a
//! Kubernetes Service named `flockrelay` gives every pod `FLOCKRELAY_PORT`,
//! `FLOCKRELAY_SERVICE_HOST` and so on, and `FLOCKRELAY_CONFIG`, `FLOCKRELAY_LOG`
//! and `FLOCKRELAY_LOG_FORMAT` are read elsewhere.
//!
//! The sections are the fields of [`Config`] itself, so a section added to it
//! can be set from the environment without a list to keep up to date here.

use serde::de::{self, Deserialize, Deserializer, Visitor};

use super::{Config, ENV_PREFIX};

/// Separator between levels of a key in a variable name.
pub const LEVEL_SEPARATOR: &str = "__";

/// Whether a variable name, without the `FLOCKRELAY_` prefix, sets a key:
/// `<SECTION>__<KEY…>` with a known section (any case).
pub fn is_config_key(name: &str) -> bool {
    match name.split_once(LEVEL_SEPARATOR) {
        Some((section, rest)) => !rest.is_empty() && sections().iter().any(|known| known.eq_ignore_ascii_case(section)),
        None => false,
    }
}

/// Variables that look like configuration (`FLOCKRELAY_X__Y`) but name no
/// section: probably a typo, so worth a warning (they are ignored).
pub fn unknown_sections() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| {
            name.get(..ENV_PREFIX.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(ENV_PREFIX))
                && name[ENV_PREFIX.len()..].contains(LEVEL_SEPARATOR)
                && !is_config_key(&name[ENV_PREFIX.len()..])
        })
        .collect()
}

/// The top-level sections of the configuration, read from [`Config`]'s
/// deserializer (which lists its fields, as every serde struct does).
pub fn sections() -> &'static [&'static str] {
    static SECTIONS: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
    SECTIONS.get_or_init(|| {
        let mut probe = FieldProbe(None);
        // The probe always refuses; all it wants is the field list.
        let _ = Config::deserialize(&mut probe);
        probe.0.unwrap_or(&[])
    })
}

/// A deserializer that only records the field names of the struct asked for.
struct FieldProbe(Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for &mut FieldProbe {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only struct field names are probed"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = Some(fields);
        Err(de::Error::custom("only struct field names are probed"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_the_fields_of_the_configuration() {
        let sections = sections();
        for section in ["global", "flocks", "destinations", "sources", "templates", "delivery", "store", "server"] {
            assert!(sections.contains(&section), "{section} in {sections:?}");
        }
    }

    #[test]
    fn only_section_and_key_names_are_configuration() {
        for name in ["DELIVERY__TIMEOUT", "delivery__timeout", "DESTINATIONS__DC_HEC__SPLUNK__TOKEN"] {
            assert!(is_config_key(name), "{name}");
        }
        // What Kubernetes injects for a Service named flockrelay, what the
        // binary reads elsewhere, and near misses.
        for name in [
            "PORT",
            "PORT_8080_TCP",
            "PORT_8080_TCP_PROTO",
            "PORT_8080_TCP_PORT",
            "PORT_8080_TCP_ADDR",
            "SERVICE_HOST",
            "SERVICE_PORT",
            "SERVICE_PORT_HTTP",
            "BIN",
            "CONFIG",
            "LOG",
            "LOG_FORMAT",
            "TEST_PG_URL",
            "DELIVERY",
            "DELIVERY__",
            "DELIVER__TIMEOUT",
        ] {
            assert!(!is_config_key(name), "{name}");
        }
    }
}
