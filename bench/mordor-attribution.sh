#!/bin/bash
# Attribution per Mordor atomic dataset (red-team tooling: no actor should be named):
# prints outcome, leading candidate, its likelihood words and probability.
# Usage: K=target/release/kahu KAHU_SHARED=../shared bench/mordor-attribution.sh > mordor.tsv
K=${K:-target/release/kahu}
OUT=${OUT:-/tmp/mordor-attr}
mkdir -p $OUT
for z in $(find ${KAHU_SHARED:-../shared}/mordor/atomic -name "*.zip" | sort); do
  # Two sets share a file name (host/ and network/): keep the folder in the name.
  n=$(basename $(dirname $z))-$(basename $z .zip)
  $K assess "$z" --rules ${KAHU_SHARED:-../shared}/sigma/rules --out $OUT/$n --no-case --json -q > $OUT/$n.json 2>$OUT/$n.err
  python3 - "$OUT/$n.json" "$n" <<'PY'
import json,sys
try:
  a=json.load(open(sys.argv[1]))
  l=a['attribution'].get('leading') or {}
  print(f"{sys.argv[2]}\t{a['attribution']['outcome']}\t{l.get('group_id')}\t{l.get('name')}\t{l.get('likelihood')}\t{l.get('probability')}")
except Exception as e:
  print(sys.argv[2], "ERROR", e)
PY
done
