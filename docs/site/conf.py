# Sphinx configuration of the collection's docs site, built offline by `make docs` into .cache/docs
# (made with `antsibull-docs sphinx-init`, then trimmed). antsibull-docs writes the RST next to index.rst.
#
# There is no network here, so no intersphinx: references into docs.ansible.com (ansible.builtin plugins,
# the common return values, configuration settings) are resolved by _ansible_docs_link below to plain
# links there; any other unresolved reference is still a warning, and `-W` makes it an error.

from docutils import nodes

project = 'underlay.network'
copyright = 'underlay.network contributors'
title = 'underlay.network'
html_short_title = 'underlay.network'

extensions = ['sphinx_antsibull_ext']

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

default_role = 'any'
nitpicky = True

ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
ANSIBLE_LABELS = {
    'common_return_values': 'reference_appendices/common_return_values.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
}


def _ansible_docs_url(node):
    target = node.get('reftarget', '')
    if node.get('reftype') == 'envvar' and target.startswith('ANSIBLE_'):
        return ANSIBLE_DOCS + 'reference_appendices/config.html#envvar-' + target
    if node.get('reftype') != 'ref':
        return None
    if target in ANSIBLE_LABELS:
        return ANSIBLE_DOCS + ANSIBLE_LABELS[target]
    prefix = 'ansible_collections.ansible.builtin.'
    if target.startswith(prefix):
        name, _, kind = target[len(prefix):].rpartition('_')
        if name and kind:
            return ANSIBLE_DOCS + 'collections/ansible/builtin/%s_%s.html' % (name, kind)
    return None


def _ansible_docs_link(app, env, node, contnode):
    url = _ansible_docs_url(node)
    if url is None:
        return None
    reference = nodes.reference('', '', internal=False, refuri=url)
    reference.append(contnode)
    return reference


def setup(app):
    app.connect('missing-reference', _ansible_docs_link)
