"""The savings rules a report applies to groups of entries (sums of the rounded entries, the
percentage worked out from those sums), what savings refuses and how the edge answers it, and
what kind of figure each headline is (its style comes from the figure, not from its words)."""

from decimal import Decimal
from uuid import UUID

from services.savings.domain.errors import ContractNotFound, SchoolNotFound
from services.savings.domain.ledger import Figures, is_increase, of_sums, summed, totals
from services.savings.presentation import headlines
from services.savings.reports import TrustSavings
from shared.http import problem_of
from tests.unit.test_ledger import COST_INCREASE, SAVING


def row(f: Figures) -> dict[str, Decimal | None]:
    """An entry as a database row: figures by column name."""
    return dict(vars(f))


def test_rows_of_entries_sum_like_the_entries() -> None:
    assert summed([row(SAVING), row(COST_INCREASE)]) == totals([SAVING, COST_INCREASE])
    assert summed([]) == totals([])


def test_a_groups_percentage_comes_from_its_sums_not_from_its_entries() -> None:
    sums = {
        "annual_baseline_cost": Decimal("3800.00"),
        "annual_contract_cost": Decimal("3320.00"),
        "annual_saving": Decimal("480.00"),
        "term_saving": Decimal("1080.00"),
        "economy_of_scale": Decimal("380.00"),
        "saving_pct": Decimal("99.99"),  # a column of sums never has one; ignored if given
    }
    assert of_sums(sums).saving_pct == Decimal("12.63")  # 480 / 3,800
    assert of_sums(sums | {"annual_baseline_cost": Decimal("0.00")}).saving_pct is None


def test_a_negative_saving_is_a_cost_increase() -> None:
    assert is_increase(Decimal("-0.01"))
    assert not is_increase(Decimal("0.00"))


def test_what_savings_does_not_find_is_answered_404_as_before() -> None:
    school = problem_of(SchoolNotFound("4242", "100001"))
    assert (school.status, school.title, school.detail) == (
        404,
        "Not found",
        "no school 100001 in trust 4242",
    )
    tender = UUID(int=1)
    contract = problem_of(ContractNotFound("4242", tender))
    assert (contract.status, contract.title, contract.detail) == (
        404,
        "Not found",
        f"no joint contract {tender} in trust 4242",
    )


def summary(f: Figures) -> TrustSavings:
    return TrustSavings(trust_id="1", trust_name=None, schools=[], categories=[], **vars(f))


def test_each_headline_says_what_kind_of_figure_it_is() -> None:
    assert [(h.key, h.kind) for h in headlines(summary(SAVING))] == [
        ("annual-saving", "saving"),
        ("term-saving", "saving"),
        ("saving-pct", "saving"),
        ("pooling-saving", "pooling"),
    ]
    assert [h.kind for h in headlines(summary(COST_INCREASE))] == [
        "increase",
        "increase",
        "increase",
        "pooling",
    ]
    no_baseline = Figures(**(vars(SAVING) | {"saving_pct": None}))
    assert headlines(summary(no_baseline))[2].kind == "saving"
