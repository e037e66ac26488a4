#!/bin/sh
# Run one step of the recipe in the background with the local OpenBLAS (see README: Debian's
# torch links the reference BLAS, about 30x slower) and one thread (two threads on this shared
# 2-core machine are slower than one). Usage: ./run.sh train_embedder.py --steps 2400
cd "$(dirname "$0")"
export LD_LIBRARY_PATH="$PWD/work/openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
name=$(basename "$1" .py)
nohup nice -n "${NICE:-10}" /usr/bin/python3 "$@" >> "work/$name.log" 2>&1 &
echo "started $name (pid $!), log: $PWD/work/$name.log"
