# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: run
short_description: One runctl run on a host - started, stopped or gone, as given
version_added: 0.1.0
description:
  - Manages one run of runctl (a program runctl runs as a systemd unit) on
    the host, through the host's C(runctl --json).
  - With I(command), the options describe the whole run, as one entry of a
    runctl stack file does; an option left out means what leaving out
    C(runctl run)'s flag means. The module applies a stack file of this one
    run with C(runctl apply), and runctl compares it with the spec it keeps,
    leaves an unchanged run alone and replaces a changed one. Other runs of
    the same stack are left as they are.
  - Without I(command), I(state=started) starts a stopped run again from its
    kept spec (C(runctl start)); the other spec options then need I(command).
  - C(changed) is true only when runctl started, replaced, restarted,
    stopped, removed, enabled or disabled something.
extends_documentation_fragment:
  - runctl.runctl.runctl
options:
  name:
    description:
      - The run's name.
    type: str
    required: true
  state:
    description:
      - C(started) - the run runs; with I(command), as the options say.
      - C(stopped) - the run is stopped (C(runctl stop)), its spec kept; the
        run must exist. The spec options are not applied.
      - C(absent) - the run is stopped and forgotten (C(runctl rm --force)).
    type: str
    choices: [started, stopped, absent]
    default: started
  enabled:
    description:
      - Whether the run starts at boot (C(runctl enable)/C(disable)).
      - Left out, it stays as it is.
    type: bool
  command:
    description:
      - The program and its arguments, as a list, run exactly as given (no shell).
      - A program without a C(/) is looked up on the run's C(PATH) on the host.
    type: list
    elements: str
  dir:
    description:
      - The run's working folder on the host (C(--dir)).
      - By default the home folder of the user the module runs as.
    type: path
  env:
    description:
      - Environment variables of the run (C(-E)), a mapping of names to
        values. The run gets no other environment than this, I(env_file)
        and I(source) give.
      - The values are not logged (no_log).
    type: dict
  env_file:
    description:
      - Files on the host of C(NAME=VALUE) lines, read into the run's spec (C(--env-file)); I(env) wins.
    type: list
    elements: path
  source:
    description:
      - Files on the host sourced by a shell, whose environment the run gets
        (C(--source)), for example C(/opt/ros/jazzy/setup.bash).
    type: list
    elements: path
  restart:
    description:
      - Restart the run automatically (C(--restart)).
    type: str
    choices: ['no', on-failure, always]
  restart_delay:
    description:
      - Wait this long before an automatic restart (C(--restart-delay)), a Go duration such as C(100ms).
    type: str
  max_restarts:
    description:
      - Give up after this many automatic restarts within I(within)
        (C(--max-restarts)); C(none) never gives up.
    type: str
  within:
    description:
      - The interval I(max_restarts) counts in (C(--within)), such as C(10s).
    type: str
  property:
    description:
      - Unit settings as in a unit file (C(-p KEY=VALUE)); a list of values
        for a setting given more than once.
    type: dict
  uid:
    description:
      - Run the program as this user (C(--uid)); system manager only.
    type: str
  gid:
    description:
      - Run the program with this group (C(--gid)).
    type: str
  stop_signal:
    description:
      - The signal a stop sends first (C(--stop-signal)), such as C(SIGINT).
    type: str
  stop_timeout:
    description:
      - How long a stop waits after the first signal before SIGKILL (C(--stop-timeout)), such as C(10s).
    type: str
  no_log_limit:
    description:
      - Lift journald's rate limit for the run (C(--no-log-limit)).
    type: bool
  notify:
    description:
      - The program tells systemd when it is ready (C(--notify), sd_notify READY=1).
    type: bool
  watchdog:
    description:
      - The program must send WATCHDOG=1 this often (C(--watchdog)), such as C(5s).
    type: str
  after:
    description:
      - Runs this one starts after (C(--after)).
    type: list
    elements: str
  wants:
    description:
      - Runs this one wants started with it, as a stack file's C(wants).
    type: list
    elements: str
  settle:
    description:
      - How long runctl watches the program after starting it (C(--settle));
        if it ends within that, the task fails. C(0) returns once it was
        executed. By default runctl's (1s).
    type: str
  stack:
    description:
      - The stack the run belongs to, as in C(runctl ls).
      - By default the stack it belongs to now; a new run, or one that
        belongs to none, gets a stack of its own named after it.
    type: str
notes:
  - Supports check mode; with I(command) it asks C(runctl apply --dry-run).
  - C(runctl run)'s flags that only make sense at a terminal (C(--stdin),
    attached runs) have no option; C(--restart-max-delay) has none until
    runctl's stack files take it.
seealso:
  - module: runctl.runctl.stack
  - module: runctl.runctl.info
author:
  - runctl developers
'''

EXAMPLES = r'''
- name: The lidar driver runs, restarts on failure and starts at boot
  runctl.runctl.run:
    name: lidar
    command: [ros2, run, urg_node, urg_node_driver, --ros-args, -p, serial_port:=/dev/ttyACM0]
    source: /opt/ros/jazzy/setup.bash
    restart: on-failure
    max_restarts: none
    enabled: true
    env:
      ROS_DOMAIN_ID: "7"

- name: Stop the planner for maintenance, keep it for later
  runctl.runctl.run:
    name: planner
    state: stopped

- name: Start it again from its kept spec
  runctl.runctl.run:
    name: planner

- name: Remove an old run
  runctl.runctl.run:
    name: old-bridge
    state: absent
'''

RETURN = r'''
name:
  description: The run's name.
  returned: always
  type: str
  sample: lidar
stack:
  description: The stack runctl applied the run in, with I(command).
  returned: when I(command) was given and I(state=started)
  type: str
  sample: lidar
action:
  description:
    - What was done, or would be in check mode - C(runctl apply)'s plan with
      I(command) (unchanged, start, replace, restart, enable, disable), else
      start, stop, remove, enable, disable or unchanged.
  returned: always
  type: str
  sample: replace
changed_fields:
  description: The fields of the run's spec that differ, by their names in runctl's spec; never their values.
  returned: when the run is replaced
  type: list
  elements: str
  sample: [argv, env]
runs:
  description: What C(runctl apply --json) did per run (other runs of the stack are left, or restarted if they start after this one).
  returned: when I(command) was given and I(state=started)
  type: list
  elements: dict
run:
  description: The run as C(runctl ls --json) lists it afterwards.
  returned: when the run exists afterwards
  type: dict
  sample: {name: lidar, state: active, pid: 4242, autostart: true, stack: lidar}
'''

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runctl.runctl.plugins.module_utils.runctl import (
    COMMON_ARGS, Runctl, RunctlError, applied_changes, apply_failures, home, running,
)

# Module options and the stack file keys they are written as.
SPEC_KEYS = [
    ('command', 'command'), ('dir', 'dir'), ('env', 'env'), ('env_file', 'env-file'),
    ('source', 'source'), ('restart', 'restart'), ('restart_delay', 'restart-delay'),
    ('max_restarts', 'max-restarts'), ('within', 'within'), ('property', 'property'),
    ('uid', 'uid'), ('gid', 'gid'), ('stop_signal', 'stop-signal'),
    ('stop_timeout', 'stop-timeout'), ('no_log_limit', 'no-log-limit'), ('notify', 'notify'),
    ('watchdog', 'watchdog'), ('after', 'after'), ('wants', 'wants'),
]


def scalar(v):
    """A YAML scalar as runctl reads it: booleans as true/false."""
    if isinstance(v, bool):
        return 'true' if v else 'false'
    return v if isinstance(v, list) else str(v)


def entry(p, enabled):
    """The run as one entry of a stack file."""
    e = {'name': p['name']}
    for opt, key in SPEC_KEYS:
        v = p[opt]
        if v is None:
            continue
        if opt in ('env', 'property'):
            v = dict((k, scalar(x)) for k, x in v.items())
        e[key] = v
    e['enable'] = enabled
    return e


class Module(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.runctl = Runctl(module)
        self.result = dict(changed=False, name=self.p['name'], action='unchanged')

    def fail(self, msg, **kw):
        self.result.update(kw)
        self.module.fail_json(msg=msg, **self.result)

    def call(self, args, what, **kw):
        try:
            return self.runctl.call(args, **kw)
        except RunctlError as e:
            self.fail('cannot %s %s: %s' % (what, self.p['name'], e.msg), rc=e.rc)

    def act(self, action, args, what):
        """Does one verb unless in check mode, and says it changed."""
        self.result['changed'] = True
        self.result['action'] = action
        if not self.module.check_mode:
            self.call(args, what)

    def enabled(self, cur):
        want = self.p['enabled']
        if want is None or bool(cur.get('autostart')) == want:
            return
        if want:
            self.act('enable', ['enable', self.p['name']], 'enable')
        else:
            self.act('disable', ['disable', self.p['name']], 'disable')

    def run(self):
        p = self.p
        name = p['name']
        cur = self.current()
        if p['state'] == 'absent':
            if cur is not None:
                self.act('remove', ['rm', '--force', name], 'remove')
        elif p['state'] == 'stopped':
            if cur is None:
                self.fail('cannot stop %s: there is no run of that name (give state=started and its command to make it)' % name)
            if running(cur):
                self.act('stop', ['stop', name], 'stop')
            self.enabled(cur)
        elif p['command'] is None:
            given = [opt for opt, _ in SPEC_KEYS if p[opt] is not None]
            if given:
                self.fail('cannot apply %s of %s without its command: the options describe the whole run, so give command too' % (', '.join(given), name))
            if cur is None:
                self.fail('cannot start %s: there is no run of that name; give its command' % name)
            if not running(cur):
                args = ['start', name]
                if p['settle'] is not None:
                    args[1:1] = ['--settle', p['settle']]
                self.act('start', args, 'start')
            self.enabled(cur)
        else:
            self.apply(cur)
        if not self.module.check_mode:
            after = self.current()
            if after is not None:
                self.result['run'] = after
        self.module.exit_json(**self.result)

    def current(self):
        try:
            return self.runctl.run(self.p['name'])
        except RunctlError as e:
            self.fail('cannot list the runs: %s' % e.msg, rc=e.rc)

    def apply(self, cur):
        """Applies a stack file of this one run: runctl decides whether it
        changed."""
        p = self.p
        stack = p['stack'] or (cur or {}).get('stack') or p['name']
        enabled = p['enabled']
        if enabled is None:
            enabled = bool(cur and cur.get('autostart'))
        doc = {'name': stack, 'runs': [entry(p, enabled)]}
        args = ['apply']
        if p['settle'] is not None:
            args += ['--settle', p['settle']]
        if self.module.check_mode:
            args.append('--dry-run')
        args.append('-')
        try:
            rc, report, _ = self.runctl.call(args, data=json.dumps(doc), cwd=home(), ok=(0, 1))
        except RunctlError as e:
            self.fail('cannot apply run %s: %s' % (p['name'], e.msg), rc=e.rc)
        if not isinstance(report, dict) or 'runs' not in report:
            self.fail('cannot apply run %s: runctl exited with status %d and gave no report' % (p['name'], rc), rc=rc)
        mine = [r for r in report['runs'] if r.get('name') == p['name']]
        acted = applied_changes(report)
        self.result.update(stack=stack, runs=report['runs'], changed=bool(acted))
        if mine:
            self.result['action'] = mine[0].get('action')
            if mine[0].get('changed'):
                self.result['changed_fields'] = mine[0]['changed']
        if rc != 0:
            self.result['changed'] = any(r.get('result') not in ('unchanged', 'left', 'failed', 'skipped') for r in acted)
            what = 'would not apply' if self.module.check_mode else 'cannot apply'
            self.fail('%s run %s: %s' % (what, p['name'], '; '.join(apply_failures(report)) or 'runctl exited with status %d' % rc), rc=rc)


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='started', choices=['started', 'stopped', 'absent']),
        enabled=dict(type='bool'),
        command=dict(type='list', elements='str'),
        dir=dict(type='path'),
        env=dict(type='dict', no_log=True),
        env_file=dict(type='list', elements='path'),
        source=dict(type='list', elements='path'),
        restart=dict(type='str', choices=['no', 'on-failure', 'always']),
        restart_delay=dict(type='str'),
        max_restarts=dict(type='str'),
        within=dict(type='str'),
        property=dict(type='dict'),
        uid=dict(type='str'),
        gid=dict(type='str'),
        stop_signal=dict(type='str'),
        stop_timeout=dict(type='str'),
        no_log_limit=dict(type='bool'),
        notify=dict(type='bool'),
        watchdog=dict(type='str'),
        after=dict(type='list', elements='str'),
        wants=dict(type='list', elements='str'),
        settle=dict(type='str'),
        stack=dict(type='str'),
    )
    argument_spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    Module(module).run()


if __name__ == '__main__':
    main()
