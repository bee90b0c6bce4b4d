#!/usr/bin/env bash
# The peers that are programs rather than npm packages (the npm ones install into bench/node_modules
# on the first `npm run bench`). Debian packages; run as root. A peer that is missing is reported
# as `skipped` with the reason, never dropped silently.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3-aiohttp python3-websockets python3-scrapy python3-aiofiles aria2 wrk curl wget
