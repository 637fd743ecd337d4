#!/bin/bash
# Attribution per Mordor atomic dataset: prints likelihood words of the leading candidate.
K=${K:-target/release/kahu}
OUT=${OUT:-/tmp/mordor-attr}
mkdir -p $OUT
for z in $(find ${KAHU_SHARED:-../shared}/mordor/atomic -name "*.zip" | sort); do
  n=$(basename $z .zip)
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
