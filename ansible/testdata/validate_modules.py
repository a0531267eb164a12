"""Offline checks of the runctl.runctl modules, in the spirit of
ansible-test's validate-modules (which needs network to install its own
requirements): each module compiles, its DOCUMENTATION, EXAMPLES and RETURN
parse as YAML (with the doc fragments it extends), and the options it
documents are exactly those of its argument_spec, with the same type,
elements, choices, default, required and no_log; it supports check mode.

Usage: python3 validate_modules.py COLLECTION_ROOT (the folder that holds
ansible_collections). Prints one line per problem; exits 1 if any.
"""

import ast
import importlib
import os
import sys

import yaml

root = os.path.abspath(sys.argv[1])
sys.path.insert(0, root)
coll = os.path.join(root, 'ansible_collections', 'runctl', 'runctl')
problems = []


def problem(mod, msg):
    problems.append('%s: %s' % (mod, msg))


def fragment(name):
    ns, cname, frag = name.split('.')
    m = importlib.import_module('ansible_collections.%s.%s.plugins.doc_fragments.%s' % (ns, cname, frag))
    return yaml.safe_load(m.ModuleDocFragment.DOCUMENTATION)


class Captured(Exception):
    pass


def argument_spec(path):
    """The keyword arguments the module gives AnsibleModule, by running its
    main() with AnsibleModule replaced."""
    import ansible.module_utils.basic as basic
    seen = {}

    class Fake(object):
        def __init__(self, **kw):
            seen.update(kw)
            raise Captured()

    name = os.path.splitext(os.path.basename(path))[0]
    real = basic.AnsibleModule
    basic.AnsibleModule = Fake
    try:
        mod = importlib.import_module('ansible_collections.runctl.runctl.plugins.modules.' + name)
        mod.AnsibleModule = Fake
        try:
            mod.main()
        except Captured:
            pass
    finally:
        basic.AnsibleModule = real
    return seen


TYPES = {'str', 'bool', 'int', 'float', 'list', 'dict', 'path', 'raw'}

moddir = os.path.join(coll, 'plugins', 'modules')
files = sorted(f for f in os.listdir(moddir) if f.endswith('.py') and f != '__init__.py')
if not files:
    problem(moddir, 'no modules')
for f in files:
    path = os.path.join(moddir, f)
    name = f[:-3]
    src = open(path).read()
    try:
        tree = ast.parse(src, path)
        compile(src, path, 'exec')
    except SyntaxError as e:
        problem(name, 'does not compile: %s' % e)
        continue
    # No #!/usr/bin/python: Ansible runs a module without a shebang as one
    # with it (with the interpreter it discovers on the host), and lintian
    # warns about /usr/bin/python in the .deb.
    if src.startswith('#!'):
        problem(name, 'has a shebang (%s): leave it out' % src.split('\n', 1)[0])
    docs = {}
    for n in tree.body:
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and n.targets[0].id in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
            try:
                docs[n.targets[0].id] = yaml.safe_load(n.value.value)
            except yaml.YAMLError as e:
                problem(name, '%s is not YAML: %s' % (n.targets[0].id, e))
    for k in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'):
        if k not in docs:
            problem(name, 'no %s' % k)
    doc = docs.get('DOCUMENTATION') or {}
    if doc.get('module') != name:
        problem(name, 'DOCUMENTATION says module %r' % doc.get('module'))
    for k in ('short_description', 'description', 'author', 'options'):
        if not doc.get(k):
            problem(name, 'DOCUMENTATION has no %s' % k)
    options = dict(doc.get('options') or {})
    for frag in doc.get('extends_documentation_fragment') or []:
        options.update(fragment(frag).get('options') or {})
    if not any('runctl.runctl.' + name in ex for ex in docs.get('EXAMPLES') or []):
        problem(name, 'no example uses runctl.runctl.%s' % name)
    for key, ret in (docs.get('RETURN') or {}).items():
        for k in ('description', 'returned', 'type'):
            if k not in ret:
                problem(name, 'return value %s has no %s' % (key, k))

    kw = argument_spec(path)
    if not kw.get('supports_check_mode'):
        problem(name, 'does not support check mode')
    spec = kw.get('argument_spec') or {}
    for opt in sorted(set(spec) | set(options)):
        if opt not in options:
            problem(name, 'option %s is not documented' % opt)
            continue
        if opt not in spec:
            problem(name, 'documented option %s is not in argument_spec' % opt)
            continue
        d, s = options[opt], spec[opt]
        for k, v in d.items():
            if k not in ('description', 'type', 'elements', 'choices', 'default', 'required', 'aliases', 'version_added'):
                problem(name, 'option %s: unknown documentation key %s' % (opt, k))
        if not isinstance(d.get('description'), (str, list)) or (isinstance(d.get('description'), list) and not all(isinstance(x, str) for x in d['description'])):
            problem(name, 'option %s: description must be text or a list of texts' % opt)
        if s.get('type', 'str') not in TYPES:
            problem(name, 'option %s: unknown type %s' % (opt, s.get('type')))
        if d.get('type', 'str') != s.get('type', 'str'):
            problem(name, 'option %s: documented type %s, argument_spec %s' % (opt, d.get('type', 'str'), s.get('type', 'str')))
        for k in ('elements', 'choices', 'default'):
            dv, sv = d.get(k), s.get(k)
            if k == 'choices' and dv is not None:
                dv = [str(x) for x in dv]
                sv = [str(x) for x in sv or []]
            if dv != sv:
                problem(name, 'option %s: documented %s %r, argument_spec %r' % (opt, k, dv, sv))
        if bool(d.get('required')) != bool(s.get('required')):
            problem(name, 'option %s: documented required %r, argument_spec %r' % (opt, d.get('required'), s.get('required')))
        if s.get('required') and 'default' in s:
            problem(name, 'option %s: required with a default' % opt)

for p in problems:
    print(p)
print('%d modules checked, %d problems' % (len(files), len(problems)))
sys.exit(1 if problems else 0)
