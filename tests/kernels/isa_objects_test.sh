#!/usr/bin/env bash
# The objects built with per-ISA flags (*_avx2.cpp.o, *_avx512*.cpp.o, *_neondot.cpp.o, *_neoni8mm.cpp.o) must define no weak
# symbol outside their own tern::kernels::<isa> namespace. Such a symbol (an instantiation of a
# template or inline function from a shared header) can be the copy the linker keeps for every
# caller, and then a CPU without that ISA runs its instructions outside any dispatch: SIGILL
# (src/kernels/kernel_scratch.h tells the case that happened).
# Usage: isa_objects_test.sh OBJECT... (all of the library's objects; the ISA ones are picked)
set -euo pipefail
nm=${NM:-nm}   # the build's own (a cross build reads objects of another architecture)
command -v "$nm" >/dev/null || { echo "SKIPPED: $nm is not installed"; exit 77; }
checked=0 bad=0
for object in "$@"; do
    [[ $(basename "$object") =~ _(avx2|avx512|avx512vnni|neondot|neoni8mm)\.cpp\.o$ ]] || continue
    checked=$((checked + 1))
    # Defined weak code (W); V and u are data (inline variables, exception tables).
    while read -r symbol; do
        [[ $symbol == tern::kernels::avx2::* || $symbol == tern::kernels::avx512::* ||
           $symbol == tern::kernels::avx512vnni::* || $symbol == tern::kernels::neondot::* ||
           $symbol == tern::kernels::neoni8mm::* ]] && continue
        echo "$(basename "$object"): weak symbol outside its ISA namespace: $symbol"
        bad=$((bad + 1))
    done < <("$nm" -C --defined-only "$object" | awk '$2 == "W" { $1 = ""; $2 = ""; sub(/^  /, ""); print }')
done
[[ $checked -gt 0 ]] || { echo "no per-ISA objects among the arguments"; exit 1; }
echo "$checked per-ISA objects checked, $bad shared weak symbols"
[[ $bad -eq 0 ]]
