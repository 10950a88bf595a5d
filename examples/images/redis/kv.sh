#!/bin/sh
# A stand-in for Redis, enough for the two-tier tutorial: the inline commands
# PING, SET key value, GET key, RPUSH key value, LRANGE key 0 -1, one per line,
# answered in RESP. Values live in files under /data, one per key.
mkdir -p /data
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  cmd=$(printf '%s' "$line" | cut -d' ' -f1 | tr a-z A-Z)
  key=$(printf '%s' "$line" | cut -s -d' ' -f2 | tr -cd 'A-Za-z0-9_.-')
  value=$(printf '%s' "$line" | cut -s -d' ' -f3-)
  case "$cmd" in
    PING) printf '+PONG\r\n' ;;
    SET) printf '%s' "$value" > "/data/$key"; printf '+OK\r\n' ;;
    GET)
      if [ -f "/data/$key" ]; then
        v=$(cat "/data/$key"); printf '$%s\r\n%s\r\n' "${#v}" "$v"
      else printf '$-1\r\n'; fi ;;
    RPUSH) printf '%s\n' "$value" >> "/data/$key.list"; printf ':%s\r\n' "$(wc -l < "/data/$key.list")" ;;
    LRANGE)
      touch "/data/$key.list"
      printf '*%s\r\n' "$(wc -l < "/data/$key.list")"
      while IFS= read -r item; do printf '$%s\r\n%s\r\n' "${#item}" "$item"; done < "/data/$key.list" ;;
    QUIT) printf '+OK\r\n'; exit 0 ;;
    "") ;;
    *) printf -- "-ERR unknown command '%s'\r\n" "$cmd" ;;
  esac
done
