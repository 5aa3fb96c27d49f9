//! Whether a built `bootstrap` can start on Lambda's `provided.al2023`: an ELF executable for
//! the function's architecture that needs no glibc symbol version newer than the runtime's.
//!
//! A binary that fails this check fails at init on Lambda, never answers CloudFormation, and the
//! stack waits for the custom resource's `ServiceTimeout`; so it is refused before any upload.

use std::fmt;

use object::elf::{EM_AARCH64, EM_X86_64, ET_DYN, ET_EXEC, FileHeader64};
use object::read::elf::FileHeader;
use object::{Endianness, ReadRef};

use crate::instance_types::Architecture;

/// `provided.al2023` ships glibc 2.34 (Amazon Linux 2023).
/// <https://docs.aws.amazon.com/linux/al2023/ug/compare-with-al2.html>
pub const RUNTIME_GLIBC: Version = Version(2, 34);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GLIBC_{}.{}", self.0, self.1)
    }
}

/// What the check found in a binary that passes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// The newest `GLIBC_` version it needs (none for a static binary).
    pub glibc: Option<Version>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(
        "it is not an ELF file (Lambda runs Linux executables; a macOS or Windows build does not start)"
    )]
    NotElf,
    #[error("it is not a 64-bit ELF file")]
    Not64Bit,
    #[error("it is not an executable (ELF type {0})")]
    NotExecutable(u16),
    #[error("it is built for {found}, the function is {want}")]
    WrongArchitecture { found: String, want: Architecture },
    #[error("it needs {found}, newer than the {RUNTIME_GLIBC} that provided.al2023 has")]
    GlibcTooNew { found: Version },
    #[error("its ELF data is malformed: {0}")]
    Malformed(String),
}

/// Checks `data` (a whole binary) for `architecture`.
pub fn check(data: &[u8], architecture: Architecture) -> Result<Facts, Problem> {
    if !data.starts_with(b"\x7fELF") {
        return Err(Problem::NotElf);
    }
    // EI_CLASS: 2 is ELFCLASS64.
    if data.get(4) != Some(&2) {
        return Err(Problem::Not64Bit);
    }
    let malformed = |e: object::Error| Problem::Malformed(e.to_string());
    let header = FileHeader64::<Endianness>::parse(data).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let kind = header.e_type(endian);
    if kind != ET_EXEC && kind != ET_DYN {
        return Err(Problem::NotExecutable(kind));
    }
    let (machine, want) = (
        header.e_machine(endian),
        match architecture {
            Architecture::X86_64 => EM_X86_64,
            Architecture::Arm64 => EM_AARCH64,
        },
    );
    if machine != want {
        return Err(Problem::WrongArchitecture {
            found: machine_name(machine),
            want: architecture,
        });
    }
    let glibc = newest_glibc(header, endian, data).map_err(malformed)?;
    match glibc {
        Some(found) if found > RUNTIME_GLIBC => Err(Problem::GlibcTooNew { found }),
        _ => Ok(Facts { glibc }),
    }
}

/// The newest `GLIBC_x.y` among the versions the binary's `.gnu.version_r` needs.
fn newest_glibc<'data, R: ReadRef<'data>>(
    header: &FileHeader64<Endianness>,
    endian: Endianness,
    data: R,
) -> object::Result<Option<Version>> {
    let sections = header.sections(endian, data)?;
    let Some((mut needs, link)) = sections.gnu_verneed(endian, data)? else {
        return Ok(None);
    };
    let strings = sections.strings(endian, data, link)?;
    let mut newest = None;
    while let Some((_, mut aux)) = needs.next()? {
        while let Some(a) = aux.next()? {
            let name = String::from_utf8_lossy(a.name(endian, strings)?);
            if let Some(v) = parse_glibc(&name) {
                newest = newest.max(Some(v));
            }
        }
    }
    Ok(newest)
}

fn parse_glibc(name: &str) -> Option<Version> {
    let (major, minor) = name.strip_prefix("GLIBC_")?.split_once('.')?;
    // GLIBC_2.2.5: the third part does not matter against 2.34.
    let minor = minor.split('.').next()?;
    Some(Version(major.parse().ok()?, minor.parse().ok()?))
}

fn machine_name(machine: u16) -> String {
    match machine {
        EM_X86_64 => "x86_64".into(),
        EM_AARCH64 => "arm64".into(),
        object::elf::EM_386 => "32-bit x86".into(),
        object::elf::EM_ARM => "32-bit ARM".into(),
        other => format!("ELF machine {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary of this machine: the test executable itself (built like `bootstrap`).
    fn this_binary() -> Vec<u8> {
        std::fs::read(std::env::current_exe().unwrap()).unwrap()
    }

    fn host() -> Architecture {
        if cfg!(target_arch = "aarch64") {
            Architecture::Arm64
        } else {
            Architecture::X86_64
        }
    }

    #[test]
    fn versions_are_read_from_their_names() {
        assert_eq!(parse_glibc("GLIBC_2.34"), Some(Version(2, 34)));
        assert_eq!(parse_glibc("GLIBC_2.2.5"), Some(Version(2, 2)));
        assert_eq!(parse_glibc("GLIBC_PRIVATE"), None);
        assert_eq!(parse_glibc("GCC_3.0"), None);
        assert!(Version(2, 35) > RUNTIME_GLIBC && Version(2, 4) < RUNTIME_GLIBC);
    }

    #[test]
    fn a_real_binary_names_its_glibc_and_its_architecture() {
        let data = this_binary();
        let facts = match check(&data, host()) {
            Ok(facts) => facts,
            // A build machine with a newer glibc: the check says so, as it should.
            Err(Problem::GlibcTooNew { found }) => Facts { glibc: Some(found) },
            Err(e) => panic!("{e}"),
        };
        assert!(facts.glibc.is_some_and(|v| v >= Version(2, 2)), "{facts:?}");
        let other = match host() {
            Architecture::X86_64 => Architecture::Arm64,
            Architecture::Arm64 => Architecture::X86_64,
        };
        assert!(matches!(
            check(&data, other),
            Err(Problem::WrongArchitecture { want, .. }) if want == other
        ));
    }

    #[test]
    fn a_binary_needing_a_newer_glibc_is_refused() {
        let data = with_glibc_renamed(&this_binary(), "GLIBC_2.39");
        assert_eq!(
            check(&data, host()),
            Err(Problem::GlibcTooNew {
                found: Version(2, 39)
            })
        );
    }

    #[test]
    fn other_files_are_refused() {
        assert_eq!(
            check(b"\xcf\xfa\xed\xfe macho", host()),
            Err(Problem::NotElf)
        );
        assert_eq!(check(b"#!/bin/sh\n", host()), Err(Problem::NotElf));
        let mut elf32 = this_binary();
        elf32[4] = 1;
        assert_eq!(check(&elf32, host()), Err(Problem::Not64Bit));
        let mut object_file = this_binary();
        // e_type at offset 16: ET_REL.
        object_file[16..18].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(check(&object_file, host()), Err(Problem::NotExecutable(1)));
    }

    /// The binary with its newest `GLIBC_2.x` version name (in the dynamic string table)
    /// rewritten to `newer`, of the same length: what a build against a newer glibc records.
    fn with_glibc_renamed(data: &[u8], newer: &str) -> Vec<u8> {
        let header = FileHeader64::<Endianness>::parse(data).unwrap();
        let newest = newest_glibc(header, header.endian().unwrap(), data)
            .unwrap()
            .unwrap();
        let old = newest.to_string();
        assert_eq!(old.len(), newer.len(), "{old} and {newer} differ in length");
        let mut out = data.to_vec();
        let at = out
            .windows(old.len() + 1)
            .position(|w| w[..old.len()] == *old.as_bytes() && w[old.len()] == 0)
            .expect("the version name is in the string table");
        out[at..at + newer.len()].copy_from_slice(newer.as_bytes());
        out
    }
}
