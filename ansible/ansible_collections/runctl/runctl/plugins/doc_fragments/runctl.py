# -*- coding: utf-8 -*-
# Options every runctl.runctl module takes.

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  scope:
    description:
      - The systemd manager runctl talks to on the host, as runctl's C(--system) and C(--user) flags.
      - By default runctl's own choice, the system manager for root and the user's manager for others.
    type: str
    choices: [system, user]
  runctl_path:
    description:
      - The runctl to run on the host; a name is looked up on the host's C(PATH).
    type: str
    default: runctl
requirements:
  - runctl on the managed host, which does the work; the modules only call C(runctl --json) there.
'''
