#!/usr/bin/env bash
# Publishes the probe self-contained for linux-x64 (no libtorch inside), adds the symbol list and checker, and packs it
# with run-probe.sh into the git-ignored .devcarry/probe/ for the device machine. Run here:
#   bash tests/Microsoft.ML.Peft.CudaProbe/pack.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=/tmp/probe-publish
carry="$repo/.devcarry/probe"
rm -rf "$out"
# Runtime, self-containment, globalization and trimming are set in the csproj.
dotnet publish "$here/Microsoft.ML.Peft.CudaProbe.csproj" -c Release -o "$out"
if ls "$out" | grep -Eq '^lib(torch|c10)'; then echo "libtorch binaries leaked into the publish output" >&2; exit 1; fi
# The libtorch/c10 symbols libLibTorchSharp.so imports (strong, unversioned: not libc/libstdc++).
nm -D --undefined-only "$out/libLibTorchSharp.so" | awk '$1 == "U" && $2 !~ /@/ {print $2}' > "$out/libtorchsharp-undefined.txt"
cp "$here/check_symbols.py" "$out/"
mkdir -p "$carry"
tar -C "$out" -cJf "$carry/probe.tar.xz" .
cp "$here/run-probe.sh" "$carry/"
ls -la "$carry"
