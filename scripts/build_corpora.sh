#!/usr/bin/env bash
# Rebuild every corpus that the shipped model was trained and evaluated on, on a fresh Debian bookworm machine:
#   bash scripts/build_corpora.sh                 # all of them, under ../corpus
#   CORPUS=/data/corpus WORKERS=4 bash scripts/build_corpora.sh full multi
# Steps (any subset, in this order): voices full multi multi_dev unseen real_en world real
#   voices : Debian's MBROLA (contrib/non-free) and Festival voices the generators use
#   real   : downloads the Debian packages with real speech (Fillets, Tux Paint, Asterisk) into $RAW, then aligns them
# Resumable: every generator keeps the shards it already wrote, so after a stop run the same command again.
# Text of the multilingual corpora comes from the machine's gettext catalogues (/usr/share/locale), stored in
# <corpus>/texts/<lang>.json on first use: another machine draws other sentences unless that folder is copied over.
# Each corpus's size and its generator's own notes: models/CORPUS_REPORT.md, models/ALIGNER_REPORT.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${CORPUS:-../corpus}
RAW=${RAW:-/work/realspeech_raw/root}
WORKERS=${WORKERS:-2}   # processes for the English corpus (the multilingual ones run in one)
LANGS=de,nl,sv,fr,es,it,pt,ro,pl,cs,ru,fi,hu,tr,el,ja,ko,hi
PY=.venv/bin/python
[ -x "$PY" ] || { echo "build_corpora: no .venv; run 'bash scripts/setup.sh' first" >&2; exit 1; }
steps=${*:-voices full multi multi_dev unseen real_en world real}
mkdir -p "$OUT"

want() { [[ " $steps " == *" $1 "* ]]; }
log() { echo "build_corpora $(date -u +%H:%M:%S): $*"; }

if want voices; then
  if [ "$(id -u)" != 0 ]; then echo "build_corpora: installing voices needs root (apt-get)" >&2; exit 1; fi
  if ! grep -q "non-free" /etc/apt/sources.list.d/debian.sources 2>/dev/null; then
    log "enabling contrib non-free in /etc/apt/sources.list.d/debian.sources (MBROLA and its voices live there)"
    sed -i 's/^Components: main$/Components: main contrib non-free/' /etc/apt/sources.list.d/debian.sources
  fi
  # the packages every voice of the generators needs, from the voice lists themselves
  pkgs=$("$PY" - <<'EOF'
from models.training.corpus import DEFAULT_VOICES
from models.training.languages import LANGUAGES, UNSEEN_LANGUAGES
from models.training.tts_festival import FESTIVAL_PACKAGES
mbrola = {v.split(":")[1] for v in DEFAULT_VOICES if v.startswith("mbrola:")}
mbrola |= {m for lang in (*LANGUAGES.values(), *UNSEEN_LANGUAGES.values()) for m in lang.mbrola}
festival = {FESTIVAL_PACKAGES[v.split(":")[1]] for v in DEFAULT_VOICES if v.startswith("festival:")}
print(" ".join(["espeak-ng", "mbrola", "festival", *sorted(f"mbrola-{m}" for m in mbrola), *sorted(festival)]))
EOF
)
  log "apt-get install $pkgs"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs >/dev/null
fi

if want full; then   # English TTS, 17 voices (3.1's corpus)
  log "full: English TTS, 5 h"
  "$PY" -m models.training.corpus --hours 5 --out "$OUT/full" --seed 1 --workers "$WORKERS"
fi
if want multi; then  # 18 more languages, IPA teacher
  log "multi: 18 languages, 2.5 h"
  "$PY" -m models.training.corpus --langs $LANGS --hours 2.5 --out "$OUT/multi" --seed 2
fi
if want multi_dev; then  # evaluation only: each language's held-out voice, the multi corpus's sentences
  log "multi_dev: the 18 languages' held-out voices, 1.5 h"
  [ -d "$OUT/multi/texts" ] && mkdir -p "$OUT/multi_dev" && cp -rn "$OUT/multi/texts" "$OUT/multi_dev/"
  "$PY" -m models.training.corpus --langs $LANGS --held-out-voices --hours 1.5 --out "$OUT/multi_dev" --seed 5
fi
if want unseen; then # evaluation only: languages no run trains on
  log "unseen: 6 evaluation-only languages"
  "$PY" -m models.training.corpus --langs uk,sk,lt,vi,id,eu --unseen --hours 0.15 --out "$OUT/unseen" --seed 3
fi
if want real_en; then  # real English of ../shared/realspeech, aligned with pocketsphinx
  log "real_en: ../shared/realspeech"
  "$PY" -m models.training.realspeech_en --out "$OUT/real_en"
fi
if want world; then  # the English TTS and real English through the voice augmentation
  log "world: 1 h of voice-augmented English"
  "$PY" -m models.training.augment_voice --corpus "$OUT/full" --corpus "$OUT/real_en" --out "$OUT/world" --hours 1
fi
if want real; then   # real cs, nl, 11 Tux Paint languages, Asterisk voices: Debian packages + the phone aligner
  pkgs=$("$PY" -c 'from models.training.aligner.sources import debian_packages; print(" ".join(debian_packages()))')
  mkdir -p "$RAW"
  dl=$(mktemp -d) && chmod 755 "$dl"   # apt-get download runs as _apt
  for p in $pkgs; do
    if [ ! -f "$RAW/.parley-$p" ]; then
      log "real: $p into $RAW"
      (cd "$dl" && apt-get download -q "$p" >/dev/null) || { echo "build_corpora: apt-get download $p failed; run apt-get update" >&2; exit 1; }
      dpkg -x "$dl"/"$p"_*.deb "$RAW" && touch "$RAW/.parley-$p"
    fi
  done
  rm -rf "$dl"
  log "real: aligning (models/aligner_phonenet.pt)"
  "$PY" -m models.training.aligner.realspeech --model models/aligner_phonenet.pt --raw "$RAW" --out "$OUT"
fi
log "done: $(du -sh "$OUT" | cut -f1) under $OUT"
