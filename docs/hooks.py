"""MkDocs hook: a page that says `<!-- readme: Section title -->` gets that section of the README as
the README has it now (the install steps, the PyTorch compatibility table), so the two never drift
apart. A section the README no longer has fails the build."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
MARKER = re.compile(r"<!-- readme: (.+?) -->")


def readme_section(title):
    """The body of the README's `## title` section (None if it has none)."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1).strip() if match else None


def unlink_repo_paths(markdown):
    """Links into the repository (not pages of this site) become plain code spans."""
    return re.sub(r"\[([^\]]+)\]\((?!https?:|#)([^)]+)\)", lambda m: f"{m.group(1)} (`{m.group(2)}`)", markdown)


def on_page_markdown(markdown, page, **kwargs):
    def section(match):
        body = readme_section(match.group(1))
        if body is None:
            raise ValueError(f"{page.file.src_path} shows the README's section {match.group(1)!r}, "
                             f"which README.md does not have (a '## {match.group(1)}' heading)")
        return unlink_repo_paths(body)
    return MARKER.sub(section, markdown)
