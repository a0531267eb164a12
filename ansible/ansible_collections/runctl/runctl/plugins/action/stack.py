# -*- coding: utf-8 -*-
# The controller's side of runctl.runctl.stack: a stack file given as src
# is read here, on the controller, and handed to the module as its
# content. Everything else is the module's, on the host.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        src = args.pop('src', None)
        if src is not None:
            if args.get('content') is not None or args.get('path') is not None:
                raise AnsibleActionFail('parameters are mutually exclusive: src|content|path')
            try:
                found = self._find_needle('files', src)
                with open(found, 'rb') as f:
                    args['content'] = to_text(f.read(), errors='surrogate_or_strict')
            except (AnsibleError, IOError, OSError) as e:
                raise AnsibleActionFail('cannot read the stack file %s on the controller: %s' % (src, to_text(e)))
        result.update(self._execute_module(module_name='runctl.runctl.stack', module_args=args, task_vars=task_vars))
        return result
