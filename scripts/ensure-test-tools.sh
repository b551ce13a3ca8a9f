#!/usr/bin/env bash
# Makes sure the third-party clients the tests use are present: the AWS CLI, boto3 and
# moto (for moto_server), from the machine's Python or, failing that, from Debian's
# packages; and from Debian, Prometheus' own exposition-format parser (for the system
# Python) and curl.
set -euo pipefail
missing=()
command -v aws >/dev/null 2>&1 || missing+=(awscli)
python3 -c 'import boto3' >/dev/null 2>&1 || missing+=(python3-boto3)
command -v moto_server >/dev/null 2>&1 || python3 -c 'import moto.server' >/dev/null 2>&1 || missing+=(python3-moto)
/usr/bin/python3 -c 'import prometheus_client' >/dev/null 2>&1 || missing+=(python3-prometheus-client)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test tools from Debian: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
aws --version
