#!/bin/sh
# Build the tutorial's images locally (no registry needed), on top of
# shoal.local/busybox, which `shoal up` builds from this machine's busybox.
#   examples/build-images.sh            # docker if its daemon answers, else podman
#   examples/build-images.sh podman
set -eu
here=$(cd "$(dirname "$0")/images" && pwd)
engine=${1:-}
if [ -z "$engine" ]; then
  if docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi
build() { "$engine" build -q -t "$1" ${3:+--build-arg "$3"} "$here/$2" >/dev/null && echo "built $1 ($engine)"; }
build shoal.local/hello:v1 hello VERSION=v1
build shoal.local/hello:v2 hello VERSION=v2
build shoal.local/redis:latest redis
build shoal.local/guestbook:latest guestbook
