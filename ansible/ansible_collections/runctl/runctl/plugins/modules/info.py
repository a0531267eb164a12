# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: info
short_description: What runctl runs on a host
version_added: 0.1.0
description:
  - Lists the host's runs as C(runctl ls --json) does and, with I(status),
    shows them in detail as C(runctl status --json) does (state, processes,
    resources, last log lines).
  - Changes nothing.
extends_documentation_fragment:
  - runctl.runctl.runctl
options:
  names:
    description:
      - Only these runs. A name runctl does not know is left out of I(runs), and is an error with I(status).
    type: list
    elements: str
  stack:
    description:
      - Only the runs of this stack.
    type: str
  status:
    description:
      - Also return the runs' details (C(runctl status --json)) in I(status).
    type: bool
    default: false
  lines:
    description:
      - With I(status), how many of each run's last log lines to return.
    type: int
    default: 10
notes:
  - Supports check mode (it changes nothing either way).
seealso:
  - module: runctl.runctl.run
  - module: runctl.runctl.stack
author:
  - runctl developers
'''

EXAMPLES = r'''
- name: The robot's runs
  runctl.runctl.info:
  register: robot

- name: Every run of the stack runs
  ansible.builtin.assert:
    that: robot.runs | selectattr('stack', 'eq', 'robot') | rejectattr('state', 'eq', 'active') | list | length == 0

- name: The planner in detail, with its last 50 log lines
  runctl.runctl.info:
    names: [planner]
    status: true
    lines: 50
  register: planner
'''

RETURN = r'''
runs:
  description:
    - The runs as C(runctl ls --json) lists them - name, unit, state
      (active, activating, deactivating, failed, stopped), pid, command,
      dir, restarts, last_exit, autostart (enabled), stack, and more.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: planner, unit: runctl-planner.service, state: active, pid: 4242, restarts: 0, autostart: true, stack: robot}
status:
  description: The runs in detail, as C(runctl status --json) shows them.
  returned: when I(status) is true
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.runctl.runctl.plugins.module_utils.runctl import (
    COMMON_ARGS, Runctl, RunctlError,
)


def main():
    argument_spec = dict(
        names=dict(type='list', elements='str'),
        stack=dict(type='str'),
        status=dict(type='bool', default=False),
        lines=dict(type='int', default=10),
    )
    argument_spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    runctl = Runctl(module)
    result = dict(changed=False)
    try:
        runs = runctl.runs(stack=p['stack'])
        if p['names'] is not None:
            runs = [r for r in runs if r.get('name') in p['names']]
        result['runs'] = runs
        if p['status']:
            args = ['status', '--lines', str(p['lines'])]
            if p['names']:
                args += p['names']
            elif p['stack']:
                args += ['--stack', p['stack']]
            _, status, _ = runctl.call(args)
            result['status'] = status or []
    except RunctlError as e:
        module.fail_json(msg='cannot read the runs: %s' % e.msg, rc=e.rc, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
