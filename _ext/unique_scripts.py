"""A Sphinx extension that keeps each page's scripts unique.

With Jupyter Book 1.0.4 and Sphinx 7.4, sphinx-thebe's and sphinx-togglebutton's inline
configuration scripts are added to every page twice; the second ``const THEBE_JS_URL``
declaration is a JavaScript error in every reader's console. This drops exact duplicates
(the same file, or the same inline body, with the same attributes) and keeps the first of each, in order.
"""


def unique_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        filename = getattr(script, "filename", script) or ""   # an inline script: None or ""
        key = (str(filename), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", unique_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
