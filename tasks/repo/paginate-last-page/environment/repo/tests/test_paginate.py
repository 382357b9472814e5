import pytest

from listapi.paginate import PageError, paginate, parse_paging


def test_first_page():
    page = paginate(list(range(40)), 1, 20)
    assert page.items == list(range(20)) and page.has_next and not page.has_prev


def test_exact_multiple():
    page = paginate(list(range(40)), 2, 20)
    assert page.items == list(range(20, 40)) and page.pages == 2 and not page.has_next


def test_empty_list_has_one_page():
    page = paginate([], 1, 20)
    assert page.items == [] and page.pages == 1


def test_past_the_end_is_404():
    with pytest.raises(PageError) as e:
        paginate(list(range(40)), 3, 20)
    assert e.value.status == 404


def test_parse_paging_caps_per_page():
    assert parse_paging("2", "500") == (2, 100)


@pytest.mark.parametrize(("page", "per_page"), [("0", "10"), ("x", "10"), ("1", "0")])
def test_parse_paging_rejects(page, per_page):
    with pytest.raises(PageError):
        parse_paging(page, per_page)
