#!/usr/bin/env bash
# CUDA smoke test of Microsoft.ML.Peft (TorchSharp 0.107, built for libtorch 2.10) against the Python PyTorch install's
# libtorch. pack.sh copies this file next to probe.tar.xz; on the device machine, from the repository root (with
# .devcarry/probe carried):  bash .devcarry/probe/run-probe.sh
# Needs no .NET (the probe is self-contained) and no network.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PY:-/opt/torch/.venv/bin/python3}
[ -x "$PY" ] || PY=python3

echo "== unpack"
rm -rf /tmp/probe && mkdir -p /tmp/probe
if ! tar -C /tmp/probe -xJf "$here/probe.tar.xz" 2>/dev/null; then
  echo "tar -J failed (no xz?); unpacking with Python"
  "$PY" - "$here/probe.tar.xz" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:xz") as t:
    try:
        t.extractall("/tmp/probe", filter="fully_trusted")
    except TypeError:
        t.extractall("/tmp/probe")
EOF
fi
chmod +x /tmp/probe/CudaProbe
ls /tmp/probe | wc -l

echo "== python torch"
# One 'import torch' (slow on a cold disk): the version line, torch/lib, and every site-packages/nvidia/**/ folder with a .so.
"$PY" - > /tmp/probe/torch-info.txt <<'EOF'
import glob, os, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch.compiled_with_cxx11_abi(),
      "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
print(os.path.join(os.path.dirname(torch.__file__), "lib"))
sp = os.path.dirname(os.path.dirname(torch.__file__))
print(":".join(sorted({os.path.dirname(p) for p in glob.glob(os.path.join(sp, "nvidia", "**", "*.so*"), recursive=True)})))
EOF
sed -n 1p /tmp/probe/torch-info.txt
TORCH_LIB=$(sed -n 2p /tmp/probe/torch-info.txt)
NV_LIBS=$(sed -n 3p /tmp/probe/torch-info.txt)
echo "TORCH_LIB=$TORCH_LIB"
echo "NV_LIBS=$NV_LIBS"
ls "$TORCH_LIB"
export LD_LIBRARY_PATH="$TORCH_LIB${NV_LIBS:+:$NV_LIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv

echo "== system libstdc++ (libLibTorchSharp.so's GLIBCXX_3.4.32 requirement is marked weak)"
stdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
echo "libstdc++: ${stdcxx:-?}; newest GLIBCXX: $(grep -ao 'GLIBCXX_3\.4\.[0-9]*' "${stdcxx:-/dev/null}" 2>/dev/null | sort -t. -k3 -n | tail -1)"

echo "== ldd: not found (a 'weak version GLIBCXX_3.4.32 not found' line is harmless and filtered out)"
ldd /tmp/probe/libLibTorchSharp.so 2>&1 | grep -i "not found" | grep -v "weak version" || echo "(none)"
ldd /tmp/probe/libLibTorchSharp.so 2>/dev/null | grep -E "=>" | grep -E "torch|c10|stdc"

echo "== symbols libLibTorchSharp.so imports vs this libtorch"
"$PY" /tmp/probe/check_symbols.py "$TORCH_LIB" /tmp/probe/libtorchsharp-undefined.txt

echo "== probe"
cd /tmp/probe
timeout 150 /tmp/probe/CudaProbe 2>&1 | tee /tmp/probe/probe-output.txt
rc=${PIPESTATUS[0]}
echo "== probe exit code $rc (127: symbol lookup error, 124: timeout, 134/139: native abort/segfault)"

# If the process died (a native 'symbol lookup error' kills it outright), rerun with the step it died in skipped,
# so one missing libtorch symbol does not hide the rest. At most 3 reruns, and none after 240 s in all.
skip=""
attempt=0
while ! grep -q "PROBE DONE" /tmp/probe/probe-output.txt && [ $attempt -lt 3 ] && [ $SECONDS -lt 240 ]; do
  last=$(grep -o "BEGIN [A-Za-z0-9._-]*" /tmp/probe/probe-output.txt | tail -1 | cut -d" " -f2)
  [ -n "$last" ] || break
  skip="${skip:+$skip,}$last"
  attempt=$((attempt + 1))
  echo "== rerun $attempt: the process died in step '$last'; running again with --skip $skip"
  timeout 90 /tmp/probe/CudaProbe --skip "$skip" 2>&1 | tee /tmp/probe/probe-output.txt
  echo "== rerun $attempt exit code ${PIPESTATUS[0]}"
done

if ! grep -q "PROBE DONE" /tmp/probe/probe-output.txt && [ $SECONDS -lt 300 ]; then
  echo "== probe still did not finish; the same steps on the CPU against this libtorch (--cpu-only)"
  timeout 90 /tmp/probe/CudaProbe --cpu-only 2>&1
  echo "== cpu-only exit code $?"
fi
echo "== run-probe.sh done in ${SECONDS} s"
