#!/bin/sh
# Every option each command parses is in its --help, the manual page and
# the README (tests/static/options.py says how).
exec python3 "$(dirname "$0")/options.py"
