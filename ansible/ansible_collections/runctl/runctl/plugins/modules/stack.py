# -*- coding: utf-8 -*-

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: stack
short_description: Bring a host's runs to a runctl stack file's state
version_added: 0.1.0
description:
  - Applies a runctl stack file on the host with C(runctl apply --json).
    Runs whose spec is unchanged are not touched, changed ones are replaced
    in the order their C(after) gives, new ones are started; with I(prune),
    runs of the stack that left the file are stopped and forgotten.
  - The module only hands the file to the host's runctl and reports what
    runctl did; C(changed) is true when runctl started, replaced, restarted,
    enabled, disabled or stopped a run.
  - In check mode it runs C(runctl apply --dry-run --json) and reports the
    plan.
  - A stack file is YAML with the stack's C(name) and its C(runs); each
    run's keys are C(runctl run)'s long flag names without the dashes
    (C(name), C(command) as a list, C(dir), C(env), C(env-file), C(restart),
    C(max-restarts), C(property), C(uid), C(stop-signal), C(notify),
    C(watchdog), C(after), C(enable), ...). See the runctl README, section
    Stacks.
extends_documentation_fragment:
  - runctl.runctl.runctl
options:
  content:
    description:
      - The stack file itself, as a YAML string or as a mapping (for
        example straight from the play's variables).
      - Runs without a C(dir), and relative C(dir) and C(env-file) paths,
        are taken relative to I(dir).
      - To apply a template of the controller, give the C(template) lookup of
        it, as the examples do; a plain file of the controller is I(src).
    type: raw
  src:
    description:
      - A stack file on the controller, read there and applied as I(content)
        (a relative path is looked up in the play's C(files) folders, as
        M(ansible.builtin.copy) does). For a template, give I(content) the
        C(template) lookup of it instead.
    type: path
  path:
    description:
      - A stack file on the host. Relative C(dir) and C(env-file) paths in it
        are taken relative to its folder.
    type: path
  dir:
    description:
      - With I(content), the folder runs without a C(dir) run in, and that
        relative paths in the content are taken from.
      - By default the home folder of the user the module runs as.
    type: path
  prune:
    description:
      - Also stop and forget the runs of the stack that are no longer in the file.
    type: bool
    default: false
  settle:
    description:
      - How long runctl watches each run it starts, as C(runctl apply --settle).
        A run that ends within it fails the task. C(0) returns once each
        was executed. By default runctl's (1s).
      - A Go duration such as C(2s) or C(500ms).
    type: str
notes:
  - Supports check mode, with the plan of C(runctl apply --dry-run).
  - A run that fails to start fails the task; runctl leaves the stack's other
    runs as its report (I(runs)) shows.
  - I(content) is not C(no_log) (that would mask every run name it holds in
    the output); give secrets through C(env-file) on the host, or set
    C(no_log) on the task.
seealso:
  - module: runctl.runctl.run
  - module: runctl.runctl.info
author:
  - runctl developers
'''

EXAMPLES = r'''
- name: The robot's ROS 2 stack
  runctl.runctl.stack:
    content:
      name: robot
      runs:
        - name: driver
          command: [ros2, run, robot_driver, driver_node]
          source: /opt/ros/jazzy/setup.bash
          restart: always
          enable: true
        - name: planner
          command: [ros2, run, robot_nav, planner]
          after: [driver]
          env:
            PLANNER_VERSION: "{{ planner_version }}"

- name: A stack file of the controller (files/robot-stack.yml)
  runctl.runctl.stack:
    src: robot-stack.yml

- name: A stack file templated on the controller, pruning runs that left it
  runctl.runctl.stack:
    content: "{{ lookup('template', 'robot-stack.yml.j2') }}"
    prune: true

- name: A stack file already on the robot
  runctl.runctl.stack:
    path: /etc/robot/stack.yml
'''

RETURN = r'''
stack:
  description: The stack's name, from the file.
  returned: always
  type: str
  sample: robot
runs:
  description:
    - What runctl did per run (C(runctl apply --json)), in the order it acted.
    - C(action) is the plan (unchanged, start, replace, restart, enable,
      disable, prune, leave, refuse); C(result) what came of it (unchanged,
      started, replaced, restarted, enabled, disabled, stopped, left, failed,
      skipped; absent in check mode); C(changed) names the spec fields that
      differ, never their values.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: driver, action: unchanged, result: unchanged}
    - {name: planner, action: replace, changed: [env], result: replaced, pid: 4242}
changed_runs:
  description: The names of the runs runctl acted on (or would, in check mode).
  returned: always
  type: list
  elements: str
  sample: [planner]
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.runctl.runctl.plugins.module_utils.runctl import (
    COMMON_ARGS, Runctl, RunctlError, applied_changes, apply_failures, home,
)


def main():
    argument_spec = dict(
        content=dict(type='raw'),
        src=dict(type='path'),
        path=dict(type='path'),
        dir=dict(type='path'),
        prune=dict(type='bool', default=False),
        settle=dict(type='str'),
    )
    argument_spec.update(COMMON_ARGS)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('content', 'path', 'src'), ('path', 'dir')],
        required_one_of=[('content', 'path', 'src')],
        supports_check_mode=True,
    )
    p = module.params
    if p['src'] is not None:
        module.fail_json(msg='cannot apply the stack: src is read on the controller, by the action of runctl.runctl.stack, which did not run')
    runctl = Runctl(module)

    args = ['apply']
    if p['prune']:
        args.append('--prune')
    if p['settle'] is not None:
        args += ['--settle', p['settle']]
    if module.check_mode:
        args.append('--dry-run')
    data, cwd = None, None
    if p['path'] is not None:
        args.append(p['path'])
    else:
        content = p['content']
        if isinstance(content, (dict, list)):
            # JSON is YAML: the mapping reaches runctl exactly.
            content = json.dumps(content)
        data = to_bytes(content, errors='surrogate_or_strict')
        args.append('-')
        cwd = p['dir'] or home()
        if not os.path.isdir(cwd):
            module.fail_json(msg='cannot apply the stack: dir %s is not a folder on this host' % cwd)

    try:
        rc, report, _ = runctl.call(args, data=data, cwd=cwd, ok=(0, 1))
    except RunctlError as e:
        module.fail_json(msg='cannot apply the stack: %s' % e.msg, rc=e.rc)
    if not isinstance(report, dict) or 'runs' not in report:
        module.fail_json(msg='cannot apply the stack: runctl exited with status %d and gave no report' % rc, rc=rc, result=report)

    acted = applied_changes(report)
    result = dict(
        changed=bool(acted),
        stack=report.get('stack'),
        runs=report.get('runs'),
        changed_runs=[r.get('name') for r in acted],
    )
    if rc != 0:
        failures = apply_failures(report)
        what = 'would not apply' if module.check_mode else 'cannot apply'
        result['changed'] = any(r.get('result') not in ('unchanged', 'left', 'failed', 'skipped') for r in acted)
        module.fail_json(msg='%s stack %s: %s' % (what, report.get('stack'), '; '.join(failures) or 'runctl exited with status %d' % rc), rc=rc, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
