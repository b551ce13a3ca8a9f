#!/usr/bin/env python3
"""Writes src/models/<service>.json: the AWS service models that ship with botocore,
trimmed to what Cairn's codecs and validators read (protocol metadata, operations,
shapes and their constraints), with the documentation text removed.

Run with `npm run models` on a machine with the AWS CLI (botocore) installed."""
import glob, gzip, json, os, sys

import botocore

SERVICES = ['cloudtrail', 'cloudtrail-data', 'iam', 'sts', 's3', 'sqs', 'sns', 'logs',
            'cloudwatch', 'events', 'kms', 'organizations', 'lambda']
KEEP_META = ['apiVersion', 'endpointPrefix', 'jsonVersion', 'protocol', 'serviceId',
             'signingName', 'targetPrefix', 'xmlNamespace', 'globalEndpoint']
DROP = {'documentation', 'documentationUrl', 'deprecatedMessage', 'examples', 'locationName_doc'}


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    out_dir = os.path.join(os.path.dirname(__file__), '..', 'src', 'models')
    data = os.path.join(os.path.dirname(botocore.__file__), 'data')
    for name in SERVICES:
        path = sorted(glob.glob(os.path.join(data, name, '*', 'service-2.json*')))[-1]
        opener = gzip.open if path.endswith('.gz') else open
        with opener(path, 'rt') as fh:
            model = json.load(fh)
        trimmed = {
            'metadata': {k: v for k, v in model['metadata'].items() if k in KEEP_META},
            'operations': strip(model['operations']),
            'shapes': strip(model['shapes']),
        }
        target = os.path.join(out_dir, name + '.json')
        with open(target, 'w') as fh:
            json.dump(trimmed, fh, separators=(',', ':'), sort_keys=True)
        print(f'{target}: {os.path.getsize(target)} bytes from botocore {botocore.__version__}', file=sys.stderr)


if __name__ == '__main__':
    main()
