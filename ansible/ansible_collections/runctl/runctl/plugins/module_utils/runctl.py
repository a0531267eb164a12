# -*- coding: utf-8 -*-
# What the runctl.runctl modules share: calling the host's runctl with
# --json and reading its answer. runctl does the work; nothing here decides
# what a run is or whether it changed.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import pwd

COMMON_ARGS = dict(
    scope=dict(type='str', choices=['system', 'user']),
    runctl_path=dict(type='str', default='runctl'),
)


class RunctlError(Exception):
    """runctl failed: msg is what it said, result what it printed as JSON."""

    def __init__(self, msg, rc=None, result=None, stderr=''):
        super(RunctlError, self).__init__(msg)
        self.msg = msg
        self.rc = rc
        self.result = result
        self.stderr = stderr


class Runctl(object):
    """The host's runctl, called with --json and the module's scope."""

    def __init__(self, module):
        self.module = module
        path = module.params['runctl_path']
        self.bin = module.get_bin_path(path, required=True, opt_dirs=['/usr/local/bin', '/usr/bin'])
        self.scope = module.params.get('scope')

    def argv(self, args):
        argv = [self.bin, '--json']
        if self.scope:
            argv.append('--' + self.scope)
        return argv + list(args)

    def call(self, args, data=None, cwd=None, ok=(0,)):
        """Runs runctl --json ARGS and returns (rc, parsed JSON or None,
        stderr). An exit code outside ok raises RunctlError with what
        runctl said."""
        rc, out, err = self.module.run_command(self.argv(args), data=data, binary_data=True, cwd=cwd)
        result = None
        if out.strip():
            try:
                result = json.loads(out)
            except ValueError:
                raise RunctlError('cannot read what runctl printed as JSON: %s' % out.strip()[:400], rc=rc, stderr=err)
        if rc not in ok:
            raise RunctlError(said(result, err, rc), rc=rc, result=result, stderr=err)
        return rc, result, err

    def runs(self, stack=None):
        """runctl ls --json: every run, or the stack's."""
        args = ['ls']
        if stack:
            args += ['--stack', stack]
        _, result, _ = self.call(args)
        return result or []

    def run(self, name):
        """The run NAME as runctl ls has it, or None."""
        for r in self.runs():
            if r.get('name') == name:
                return r
        return None


def home():
    """The home folder of the user the module runs as."""
    return pwd.getpwuid(os.getuid()).pw_dir


def said(result, stderr, rc):
    """What runctl said about a failure: the JSON error, else stderr."""
    if isinstance(result, dict) and result.get('error'):
        return result['error']
    lines = [l[len('runctl: '):] if l.startswith('runctl: ') else l for l in stderr.strip().splitlines()]
    if lines:
        return '; '.join(lines)
    return 'runctl exited with status %d' % rc


def running(run):
    """Whether a run as runctl ls lists it runs (or is starting)."""
    return run is not None and run.get('state') in ('active', 'activating', 'reloading')


def applied_changes(report):
    """The runs of an apply report (runctl apply --json) that the apply
    acted on, or would in a dry run: every action but unchanged and
    leave."""
    return [r for r in report.get('runs') or [] if r.get('action') not in ('unchanged', 'leave')]


def apply_failures(report):
    """What failed in an apply report: run: error, one per failed run."""
    out = []
    for r in report.get('runs') or []:
        if r.get('result') in ('failed', 'skipped') or (report.get('dry_run') and r.get('action') == 'refuse'):
            out.append('%s: %s' % (r.get('name'), r.get('error') or r.get('result')))
    return out
