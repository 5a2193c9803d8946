"""Charts drawn on the server as SVG (pygal): no JavaScript, no CDN; the figures are also in a table.

pygal's SVG carries a <style> element and a small <script> of its configuration for its (external)
tooltip script. We take the script out (nothing runs in the chart) and keep the style, so the chart is
served as an image from our own view with a policy that allows only that style (see the view).
"""

import pygal
from pygal.style import Style

from .performance import OUTCOMES, StorePerformance

SVG = "{http://www.w3.org/2000/svg}"
# One colour per outcome (OUTCOMES' order), told apart by people with the common colour blindnesses too.
COLOURS = ("#0b6e4f", "#c2410c", "#2563eb", "#6b7280", "#d4a72c")
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2433",
    foreground_strong="#1d2433",
    foreground_subtle="#5b6478",
    colors=COLOURS,
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=13,
    title_font_size=15,
    value_font_size=12,
)


def daily_outcomes_svg(performance: StorePerformance) -> str:
    """A stacked bar per local day: the orders created that day, by what became of them."""
    days = performance.days
    chart = pygal.StackedBar(
        style=STYLE,
        js=[],
        disable_xml_declaration=True,
        width=900,
        height=380,
        title=chart_title(performance),
        x_title=f"Day the order was made ({performance.store.site.timezone})",
        y_title="Orders",
        legend_at_bottom=True,
        legend_at_bottom_columns=5,
        truncate_label=-1,
        show_minor_x_labels=False,
        x_labels_major_every=7,
        x_label_rotation=0,
        truncate_legend=-1,
        min_scale=4,
        print_values=False,
        no_data_text="No orders in these 30 days",
    )
    chart.add_xml_filter(_without_scripts)
    chart.x_labels = [f"{day.day:%b} {day.day.day}" for day in days]
    for key, label in OUTCOMES:
        chart.add(label, [day.outcomes[key] or None for day in days])
    return chart.render(is_unicode=True)


def chart_title(performance: StorePerformance) -> str:
    first, last = performance.days[0].day, performance.days[-1].day
    return f"{performance.store.name}: orders per day by outcome, {first:%b} {first.day} – {last:%b} {last.day}"


def _without_scripts(root):
    """Take pygal's configuration script out, and say what the image is to assistive technology."""
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{SVG}script", "script"):
                parent.remove(child)
    root.set("role", "img")
    return root
