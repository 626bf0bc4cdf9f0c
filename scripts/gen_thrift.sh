#!/usr/bin/env bash
# Regenerates src/wire/ from our trimmed IDL in thrift/*.thrift with the Apache Thrift
# compiler 0.17.0 (the version matching the pinned `thrift = "=0.17.0"` crate).
#
#   scripts/gen_thrift.sh          regenerate src/wire/ in place
#   scripts/gen_thrift.sh --check  regenerate into a temp dir and fail if src/wire/ is stale
#
# Post-processing applied to the compiler output (all checked, so a different compiler
# output fails loudly instead of silently producing something else):
# * `use crate::<module>` -> `use crate::wire::<module>`: the generated modules live under
#   crate::wire, not at the crate root.
# * The `rustfmt_skip` attribute is dropped and the output is run through rustfmt, so the
#   committed code is readable and `cargo fmt --check` clean.
# * Request structs carrying a password (a `passwd` or `password` field) lose their derived
#   Debug; src/wire/redacted_debug.rs (hand-written) implements a Debug that hides it.
# * `Default` impls set every optional field to `None`. thrift-rs 0.17 generates
#   `Some(<zero>)` for them, so `..Default::default()` would put every unset field on the
#   wire as present (e.g. table_id = 0 in getBinlog, which the FE prefers over the name).
# * The processor's unknown-method branch skips the call's argument struct and answers
#   "Invalid method name: '<name>'" like a Doris (Java) FE. Without the skip the unread
#   arguments would be parsed as the next message and the connection would be lost.
set -euo pipefail

readonly REQUIRED_THRIFT_VERSION="0.17.0"
# Hand-written files under src/wire/ that this script neither writes nor compares.
readonly HAND_WRITTEN="redacted_debug.rs"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
idl_dir="$repo_root/thrift"
wire_dir="$repo_root/src/wire"

mode="write"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

die() { echo "gen_thrift: $*" >&2; exit 1; }

command -v thrift >/dev/null 2>&1 \
  || die "the 'thrift' compiler is not installed (Debian: apt-get install thrift-compiler, version $REQUIRED_THRIFT_VERSION)"
thrift_version="$(thrift --version | awk '{print $3}')"
[[ "$thrift_version" == "$REQUIRED_THRIFT_VERSION" ]] \
  || die "thrift $REQUIRED_THRIFT_VERSION required (it must match the thrift crate), found '$thrift_version'"
command -v rustfmt >/dev/null 2>&1 || die "rustfmt is not installed"
command -v perl >/dev/null 2>&1 || die "perl is not installed"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/raw" "$work/out"

shopt -s nullglob
idl_files=("$idl_dir"/*.thrift)
[[ ${#idl_files[@]} -gt 0 ]] || die "no .thrift files in $idl_dir"
for idl in "${idl_files[@]}"; do
  thrift --gen rs -out "$work/raw" "$idl" || die "thrift failed on $idl"
done

modules=()
for raw in "$work/raw"/*.rs; do
  name="$(basename "$raw" .rs)"
  modules+=("$name")
  out="$work/out/$name.rs"
  perl -0777 -pe '
    s/^#!\[cfg_attr\(rustfmt, rustfmt_skip\)\]\n//m;
    s/^use crate::(\w+);$/use crate::wire::$1;/mg;
    s{#\[derive\(Clone, Debug, ([^)\n]*)\)\]\n(pub struct \w+ \{\n(?:  pub [^\n]*\n)*?  pub pass(?:wd|word): [^\n]*\n)}{#[derive(Clone, $1)]\n$2}g;
    $n = s{(\n      method => \{\n)(\s*Err\(\s*thrift::Error::Application\(\s*ApplicationError::new\(\s*ApplicationErrorKind::UnknownMethod,\s*)format!\("unknown method \{\}", method\)}{$1        i_prot.skip(TType::Struct)?;\n        i_prot.read_message_end()?;\n$2format!("Invalid method name: \x27{}\x27", method)}g;
    if (/ service processor\n/ && $n != 1) { die "unknown-method branch not found\n" }
    s{(\nimpl Default for \w+ \{\n  fn default\(\) -> Self \{\n    \w+\{\n)((?:      \w+: [^\n]*,\n)*)(    \}\n)}{my ($head, $fields, $tail) = ($1, $2, $3); $fields =~ s/^(      \w+): [^\n]*,$/$1: None,/mg; $head . $fields . $tail}ge;
    if (/\nimpl Default for \w+ \{\n(?:(?!\n\}\n).)*Some\(/s) { die "a Default impl still sets a field\n" }
  ' "$raw" > "$out" || die "post-processing $raw failed"
done

{
  cat <<'EOF'
//! Thrift types, clients and processors generated from our trimmed, wire-compatible Doris IDL
//! in `thrift/` by `scripts/gen_thrift.sh`. Do not edit: change the IDL and rerun the script
//! (CI runs `scripts/gen_thrift.sh --check`). Only `redacted_debug.rs` is hand-written.

// The generated code is not hand-edited, so its lints cannot be fixed here (today it trips
// clippy's unnecessary_unwrap and derivable_impls; newer clippy releases add more).
#![allow(clippy::all, unused_imports, unused_extern_crates)]

EOF
  for m in "${modules[@]}"; do echo "pub mod $m;"; done
  echo "mod redacted_debug;"
} > "$work/out/mod.rs"

# rustfmt follows `mod` declarations: give it an empty stand-in for the hand-written file.
# Format with the repository's rustfmt config, if any, so `cargo fmt --check` agrees.
rustfmt_args=(--edition 2021)
for config in "$repo_root/rustfmt.toml" "$repo_root/.rustfmt.toml"; do
  [[ -f "$config" ]] && rustfmt_args+=(--config-path "$config")
done
touch "$work/out/$HAND_WRITTEN"
rustfmt "${rustfmt_args[@]}" "$work/out"/*.rs || die "rustfmt failed on the generated code"
rm "$work/out/$HAND_WRITTEN"

if [[ "$mode" == "check" ]]; then
  if ! diff -ru --exclude="$HAND_WRITTEN" "$work/out" "$wire_dir" >"$work/diff" 2>&1; then
    cat "$work/diff" >&2
    die "src/wire/ is stale: it differs from what thrift/*.thrift generates. Run scripts/gen_thrift.sh and commit the result."
  fi
  echo "gen_thrift: src/wire/ is up to date"
else
  mkdir -p "$wire_dir"
  find "$wire_dir" -maxdepth 1 -name '*.rs' ! -name "$HAND_WRITTEN" -delete
  cp "$work/out"/*.rs "$wire_dir/"
  echo "gen_thrift: regenerated src/wire/ (${modules[*]})"
fi
