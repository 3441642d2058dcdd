#!/usr/bin/env bash
# NLU quality: the safety net on the outside authors' sets (confusion tables per
# set and voice), the four outcomes of every real-world and held-out question on the
# running bot, intent F1 on the held-out patient questions, and 5-fold
# cross-validation on the training data. Reports and images go to results/.
set -euo pipefail
cd "$(dirname "$0")/.."
RASA=.venv/bin/rasa
FOLDS=${FOLDS:-5}

echo "==> Safety: emergency / urgent / crisis / none on tests/safety_eval (by set and voice)"
.venv/bin/python -m bot.safety.evaluation --sets dev final untouched --json results/safety/outcomes.json

echo "==> Safety context rules against negspacy's NegEx (patterns only)"
PYTHONPATH=. .venv/bin/python scripts/compare_context.py dev final

echo "==> Understanding: four outcomes per question through the running bot, by set and voice"
echo "    (tests/realworld dev and final, and the held-out sets; plots in results/understanding/)"
.venv/bin/python -m bot.evaluation --sets dev final heldout heldout_fresh heldout_routing \
  --json results/understanding/outcomes.json

echo "==> Held-out set (tests/nlu_heldout.yml, never used for training)"
$RASA test nlu --model models/metastatic-faq.tar.gz --nlu tests/nlu_heldout.yml --out results/heldout

echo "==> ${FOLDS}-fold cross-validation on data/nlu (trains ${FOLDS} models: about 2 minutes each)"
$RASA test nlu --nlu data/nlu --config config.yml --cross-validation --folds "$FOLDS" \
  --out results/cross-validation

.venv/bin/python - <<'PY'
import json
from pathlib import Path

def report(label: str, path: str) -> None:
    data = json.loads(Path(path).read_text())
    avg = data["weighted avg"]
    print(f"{label}: intent F1 {avg['f1-score']:.3f}, precision {avg['precision']:.3f}, "
          f"recall {avg['recall']:.3f}, accuracy {data.get('accuracy', float('nan')):.3f}")

report("held-out", "results/heldout/intent_report.json")
report("cross-validation (test folds)", "results/cross-validation/intent_report.json")
print("Images: results/heldout/intent_confusion_matrix.png, results/heldout/intent_histogram.png,")
print("        results/cross-validation/intent_confusion_matrix.png, results/cross-validation/intent_histogram.png")
PY
