"""`import nnx` changes no process-wide state: environment variables, warning filters, other libraries' threads."""
import json
import subprocess
import sys

_PROBE = r"""
import json, os, sys, warnings
import numpy
threads_before = None
try:
    import threadpoolctl  # (3.8 sets KMP_DUPLICATE_LIB_OK when imported: snapshot the environment after it)
    threads_before = {i["filepath"]: i["num_threads"] for i in threadpoolctl.threadpool_info()}
except ImportError:
    pass
env_before = dict(os.environ)
filters_before = list(warnings.filters)
import nnx
import nnx.nn, nnx.optim, nnx.data, nnx.learner
changed_env = sorted(k for k in set(env_before) | set(os.environ) if env_before.get(k) != os.environ.get(k))
threads_after = None
if threads_before is not None:
    threads_after = {i["filepath"]: i["num_threads"] for i in threadpoolctl.threadpool_info()
                     if i["filepath"] in threads_before}
print(json.dumps({"env": changed_env, "filters_same": list(warnings.filters) == filters_before,
                  "threads_same": threads_before == threads_after}))
"""


def test_import_changes_no_environment_variable_filter_or_thread_setting():
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["env"] == [], f"import nnx changed environment variables: {report['env']}"
    assert report["filters_same"], "import nnx changed the warning filters"
    assert report["threads_same"], "import nnx changed another library's thread count"
