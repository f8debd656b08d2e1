"""Sphinx configuration of the lamp_geometric documentation."""
import os
import sys

sys.path.insert(0, os.path.abspath('..'))

import lamp_geometric  # noqa: E402

project = 'lamp_geometric'
author = 'lamp_geometric contributors'
copyright = '2024, lamp_geometric contributors'
version = release = lamp_geometric.__version__

extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.mathjax',
]

exclude_patterns = ['_build']
root_doc = 'index'

autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_typehints_description_target = 'documented'
autodoc_default_options = {
    'members': True,
    'show-inheritance': False,
}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
# 'Setup Args': arguments of a base class's set-up method (see
# lamp_geometric.data.MultiLabelDataset).
napoleon_custom_sections = [('Shapes', 'params_style'),
                            ('Setup Args', 'params_style')]

html_theme = 'alabaster'
html_static_path = []
