#!/usr/bin/env bash
# Vendor Twilio's Voice JavaScript SDK (npm @twilio/voice-sdk) into the console's static files:
# the browser bundle, its licence and a VERSION file. The console serves these itself (no CDN).
# Run from anywhere: scripts/vendor-voice-sdk.sh [VERSION]
set -euo pipefail
VERSION="${1:-2.18.5}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/ivr/console/static/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

(cd "$WORK" && npm pack --silent "@twilio/voice-sdk@$VERSION" >/dev/null)
tar -xzf "$WORK"/twilio-voice-sdk-"$VERSION".tgz -C "$WORK"
mkdir -p "$DEST"
# dist/twilio.min.js is the package's browser build: it defines window.Twilio.Device.
cp "$WORK/package/dist/twilio.min.js" "$DEST/twilio.min.js"
cp "$WORK/package/LICENSE.md" "$DEST/LICENSE.md"
{
  echo "@twilio/voice-sdk $VERSION"
  echo "file: dist/twilio.min.js (npm pack @twilio/voice-sdk@$VERSION)"
  echo "sha256: $(sha256sum "$DEST/twilio.min.js" | cut -d' ' -f1)"
  echo "licence: Apache-2.0 (LICENSE.md)"
} > "$DEST/VERSION"
echo "vendored @twilio/voice-sdk $VERSION into $DEST"
