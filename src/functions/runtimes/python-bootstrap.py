# The Python runtime's loop, run by Cairn in a child process per warm function instance.
# Invocations arrive one JSON line at a time on stdin; each answer is one JSON line on fd 3.
# The function's own output (print, logging) becomes its CloudWatch Logs events.
import importlib
import json
import logging
import os
import sys
import time
import traceback

task_root = os.environ.get('LAMBDA_TASK_ROOT', os.getcwd())
handler_name = os.environ.get('_HANDLER', '')
sys.path.insert(0, task_root)
request_id = ''


def answer(message):
    data = (json.dumps(message) + '\n').encode()
    while data:
        data = data[os.write(3, data):]


class LambdaFormatter(logging.Formatter):
    def format(self, record):
        stamp = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(record.created)) + '.%03dZ' % record.msecs
        return '[%s]\t%s\t%s\t%s' % (record.levelname, stamp, request_id, record.getMessage().replace('\n', '\r'))


root_handler = logging.StreamHandler(sys.stdout)
root_handler.setFormatter(LambdaFormatter())
logging.getLogger().addHandler(root_handler)
logging.getLogger().setLevel(logging.WARNING)


def describe(error, error_type=None):
    return {
        'errorMessage': str(error),
        'errorType': error_type or type(error).__name__,
        'requestId': request_id,
        'stackTrace': traceback.format_tb(error.__traceback__),
    }


def load_handler():
    module_name, _, function_name = handler_name.rpartition('.')
    if not module_name:
        raise ValueError('Bad handler \'%s\': not enough values to unpack (expected 2, got 1)' % handler_name)
    try:
        module = importlib.import_module(module_name.replace('/', '.'))
    except ImportError as e:
        return None, {'errorMessage': "Unable to import module '%s': %s" % (module_name, e), 'errorType': 'Runtime.ImportModuleError', 'requestId': '', 'stackTrace': []}
    except Exception as e:
        return None, describe(e, 'Runtime.UserCodeSyntaxError' if isinstance(e, SyntaxError) else None)
    fn = getattr(module, function_name, None)
    if fn is None:
        return None, {'errorMessage': "Handler '%s' missing on module '%s'" % (function_name, module_name), 'errorType': 'Runtime.HandlerNotFound', 'requestId': '', 'stackTrace': []}
    return fn, None


class Context:
    def __init__(self, req):
        self.function_name = os.environ.get('AWS_LAMBDA_FUNCTION_NAME')
        self.function_version = os.environ.get('AWS_LAMBDA_FUNCTION_VERSION')
        self.invoked_function_arn = req['invokedFunctionArn']
        self.memory_limit_in_mb = int(os.environ.get('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', '128'))
        self.aws_request_id = req['requestId']
        self.log_group_name = os.environ.get('AWS_LAMBDA_LOG_GROUP_NAME')
        self.log_stream_name = os.environ.get('AWS_LAMBDA_LOG_STREAM_NAME')
        self._deadline = req['deadline']

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline - time.time() * 1000))


try:
    handler, init_error = load_handler()
except Exception as e:
    handler, init_error = None, describe(e, 'Runtime.MalformedHandlerName')
answer({'ready': True})

for line in sys.stdin:
    req = json.loads(line)
    request_id = req['requestId']
    if init_error:
        answer({'requestId': request_id, 'error': init_error})
        continue
    try:
        result = handler(json.loads(req['payload']), Context(req))
        answer({'requestId': request_id, 'payload': json.dumps(result)})
    except Exception as e:
        error = describe(e)
        print('[ERROR] %s: %s' % (error['errorType'], error['errorMessage']).replace('\n', '\r'), flush=True)
        answer({'requestId': request_id, 'error': error})
    sys.stdout.flush()
    sys.stderr.flush()
    request_id = ''
