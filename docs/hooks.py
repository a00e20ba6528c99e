"""MkDocs hook: pages that show a section of the README (the PyTorch compatibility table) say
`<!-- readme: Section title -->`, and get that section as the README has it now, so the two never
drift apart."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
MARKER = re.compile(r"<!-- readme: (.+?) -->")
FALLBACK = "What works today"


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
        title = match.group(1)
        body = readme_section(title)
        if body is None:   # not written yet: the README's summary of what works, said as such
            body = (f"The README has no \"{title}\" section yet; what works today:\n\n"
                    + (readme_section(FALLBACK) or ""))
        return unlink_repo_paths(body)
    return MARKER.sub(section, markdown)
