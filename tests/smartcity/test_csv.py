"""The one CSV writer: formulas neutralised, numbers left alone."""
import io

from smartcity.csv import SafeWriter, neutralise


def test_neutralise_leaves_numbers_alone_even_when_negative():
    assert neutralise(-4.3) == -4.3
    assert neutralise("-4.3") == "'-4.3"
    assert neutralise(None) == ""
    assert neutralise(True) == "true"


def test_the_writer_neutralises_every_cell_of_every_row():
    buffer = io.StringIO()
    SafeWriter(buffer).writerows([["=1+1", 3, "@x"], ["plain", -2, "+y"]])
    assert buffer.getvalue().splitlines() == ["'=1+1,3,'@x", "plain,-2,'+y"]
