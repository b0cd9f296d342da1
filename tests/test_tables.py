import pandas as pd
import pytest

from ssl_lib import tables


def test_a_folded_table_shows_its_summary_and_every_value_inside_details():
    frame = pd.DataFrame({"kNN (%)": [43.71, 47.9]}, index=pd.Index(["untrained", "trained"], name="network"))
    html = tables.folded(frame, "The numbers <behind> Figure 1", float_format="{:.1f}")._repr_html_()
    assert html.startswith('<details class="numbers"><summary>The numbers &lt;behind&gt; Figure 1</summary>')
    assert html.rstrip().endswith("</details>")
    assert ">43.7<" in html and ">47.9<" in html and "untrained" in html


def test_a_folded_table_refuses_what_is_not_a_table_or_is_empty():
    with pytest.raises(TypeError, match="pandas DataFrame, got list"):
        tables.folded([[1, 2]], "numbers")
    with pytest.raises(ValueError, match="empty table for 'numbers'"):
        tables.folded(pd.DataFrame(), "numbers")
