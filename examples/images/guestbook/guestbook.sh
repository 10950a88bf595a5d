#!/bin/sh
# CGI for busybox httpd: ?add=TEXT appends TEXT to the "messages" list in
# redis (reached by its Service name), then every message is shown.
# By name, as in the Kubernetes tutorial (REDIS_PORT is the Docker-link style
# tcp://IP:PORT variable the agent sets, so it is not a port number).
redis() { printf '%s\r\nQUIT\r\n' "$1" | nc -w 3 redis 6379; }
printf 'Content-Type: text/plain\r\n\r\n'
add=$(printf '%s' "$QUERY_STRING" | sed -n 's/^add=\([A-Za-z0-9_.-]*\).*/\1/p')
[ -n "$add" ] && redis "RPUSH messages $add" > /dev/null
redis "LRANGE messages 0 -1" | tr -d '\r' | grep -v '^[*$+]'
