#!/usr/bin/env bash
# Compare two kahu binaries' outputs on the same evidence (a refactor must
# not change behaviour): hunt JSONL and the assessment (findings.jsonl,
# assessment.json without its generation time) on EVTX-ATTACK-SAMPLES with
# SigmaHQ rules, and on the demo.
#
#   scripts/golden-compare.sh OLD_KAHU NEW_KAHU [WORKDIR]
#
# Both binaries run from the same working directory so paths in the
# outputs agree. Exit 0 when everything is identical.
set -euo pipefail
old=$(realpath "$1"); new=$(realpath "$2")
work=${3:-$(mktemp -d)}
shared=$(realpath "${KAHU_SHARED:-../shared}")
status=0
for side in old new; do
  bin=$old; [ "$side" = new ] && bin=$new
  mkdir -p "$work/$side"
  (cd "$work/$side"
   "$bin" hunt "$shared/evtx/EVTX-ATTACK-SAMPLES" --rules "$shared/sigma/rules" -o hunt.jsonl -q --json > /dev/null
   "$bin" assess "$shared/evtx/EVTX-ATTACK-SAMPLES" --rules "$shared/sigma/rules" --out easm --no-case -q --json > /dev/null
   "$bin" assess --demo --out demo --no-case -q --json > /dev/null)
done
strip() { python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); a.pop("generated_at",None); print(json.dumps(a,indent=1,sort_keys=True))' "$1"; }
cmp -s "$work/old/hunt.jsonl" "$work/new/hunt.jsonl" && echo "hunt.jsonl: same" || { echo "hunt.jsonl: DIFFERS"; status=1; }
for c in easm demo; do
  cmp -s "$work/old/$c/findings.jsonl" "$work/new/$c/findings.jsonl" && echo "$c findings.jsonl: same" || { echo "$c findings.jsonl: DIFFERS"; status=1; }
  if diff -q <(strip "$work/old/$c/assessment.json") <(strip "$work/new/$c/assessment.json") > /dev/null; then
    echo "$c assessment.json: same"
  else
    echo "$c assessment.json: DIFFERS (diff <(python3 -m json.tool $work/old/$c/assessment.json) <(python3 -m json.tool $work/new/$c/assessment.json))"; status=1
  fi
done
echo "outputs in $work"
exit $status
