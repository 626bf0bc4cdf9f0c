#!/usr/bin/env bash
# Regenerates crates/wire/src/ from our trimmed IDL in thrift/*.thrift with the Apache Thrift
# compiler 0.17.0 (the version matching the pinned `thrift = "=0.17.0"` crate).
#
#   scripts/gen_thrift.sh          regenerate crates/wire/src/ in place
#   scripts/gen_thrift.sh --check  regenerate into a temp dir and fail if crates/wire/src/ is stale
#
# Post-processing applied to the compiler output (all checked, so a different compiler
# output fails loudly instead of silently producing something else):
# * The `rustfmt_skip` attribute is dropped and the output is run through rustfmt, so the
#   committed code is readable and `cargo fmt --check` clean.
# * Request structs carrying a password (a `passwd` or `password` field) lose their derived
#   Debug; crates/wire/src/redacted_debug.rs (hand-written) implements a Debug that hides it.
# * `Default` impls set every optional field to `None`. thrift-rs 0.17 generates
#   `Some(<zero>)` for them, so `..Default::default()` would put every unset field on the
#   wire as present (e.g. table_id = 0 in getBinlog, which the FE prefers over the name).
# * The processor's unknown-method branch skips the call's argument struct and answers
#   "Invalid method name: '<name>'" like a Doris (Java) FE. Without the skip the unread
#   arguments would be parsed as the next message and the connection would be lost.
set -euo pipefail

readonly REQUIRED_THRIFT_VERSION="0.17.0"
# Hand-written files of crates/wire/src/ that this script neither writes nor compares
# (lib.rs declares the generated modules).
readonly HAND_WRITTEN=(lib.rs redacted_debug.rs secret.rs)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
idl_dir="$repo_root/thrift"
wire_dir="$repo_root/crates/wire/src"

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
    s{#\[derive\(Clone, Debug, ([^)\n]*)\)\]\n(pub struct \w+ \{\n(?:  pub [^\n]*\n)*?  pub pass(?:wd|word): [^\n]*\n)}{#[derive(Clone, $1)]\n$2}g;
    $n = s{(\n      method => \{\n)(\s*Err\(\s*thrift::Error::Application\(\s*ApplicationError::new\(\s*ApplicationErrorKind::UnknownMethod,\s*)format!\("unknown method \{\}", method\)}{$1        i_prot.skip(TType::Struct)?;\n        i_prot.read_message_end()?;\n$2format!("Invalid method name: \x27{}\x27", method)}g;
    if (/ service processor\n/ && $n != 1) { die "unknown-method branch not found\n" }
    s{(\nimpl Default for \w+ \{\n  fn default\(\) -> Self \{\n    \w+\{\n)((?:      \w+: [^\n]*,\n)*)(    \}\n)}{my ($head, $fields, $tail) = ($1, $2, $3); $fields =~ s/^(      \w+): [^\n]*,$/$1: None,/mg; $head . $fields . $tail}ge;
    if (/\nimpl Default for \w+ \{\n(?:(?!\n\}\n).)*Some\(/s) { die "a Default impl still sets a field\n" }
  ' "$raw" > "$out" || die "post-processing $raw failed"
done

# Format with the repository's rustfmt config, if any, so `cargo fmt --check` agrees.
rustfmt_args=(--edition 2021)
for config in "$repo_root/rustfmt.toml" "$repo_root/.rustfmt.toml"; do
  [[ -f "$config" ]] && rustfmt_args+=(--config-path "$config")
done
rustfmt "${rustfmt_args[@]}" "$work/out"/*.rs || die "rustfmt failed on the generated code"
for m in "${modules[@]}"; do
  grep -q "^pub mod $m;" "$wire_dir/lib.rs" || die "crates/wire/src/lib.rs does not declare the generated module $m"
done

if [[ "$mode" == "check" ]]; then
  if ! diff -ru "${HAND_WRITTEN[@]/#/--exclude=}" "$work/out" "$wire_dir" >"$work/diff" 2>&1; then
    cat "$work/diff" >&2
    die "crates/wire/src/ is stale: it differs from what thrift/*.thrift generates. Run scripts/gen_thrift.sh and commit the result."
  fi
  echo "gen_thrift: crates/wire/src/ is up to date"
else
  mkdir -p "$wire_dir"
  keep=()
  for f in "${HAND_WRITTEN[@]}"; do keep+=(! -name "$f"); done
  find "$wire_dir" -maxdepth 1 -name '*.rs' "${keep[@]}" -delete
  cp "$work/out"/*.rs "$wire_dir/"
  echo "gen_thrift: regenerated crates/wire/src/ (${modules[*]})"
fi
