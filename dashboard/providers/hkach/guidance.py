"""HK ACH codes explained for finance staff: what each means for a payroll batch or a payee, and
what to do next.

A batch keeps its group status (RCVD ... RJCT), its group reason code and the bank's event code
(EC004_xxx, EC000_xxx); a payee keeps its item reason code. Sources (hkach_contract.md): the
statuses of §5, the validation and HTTP-level event codes of §6 (FA-EC), the ISO 20022 reason
codes of §6 (ANZ's list, written for NPP; HK usage ⚠️ unconfirmed) and the HK rules of §7 (value
dates Mon-Sat except holidays, 17:55 HKT cut-off, names that must match the account). The bank
gives no staff advice: the next steps are ours, written for a finance team paying salaries.
"""

from __future__ import annotations

from dashboard.i18n import lazy_gettext as _l
from dashboard.providers.guidance import GuidanceTable
from dashboard.providers.guidance import row

_FIX_PAYEE = _l("Correct the employee's bank details with them, then pay this employee in a new batch.")
_FIX_BATCH = _l("Nothing was paid. Fix the batch and submit it again as a new batch (new batch id).")
_OUR_SIDE = _l(
    "Nothing was paid. This is a fault in how the back office builds batches: report it to the developers."
)
_ASK_BANK = _l("Contact the bank's support with the batch's x-Message-Id and x-RequestKey.")

#: The batch's and the payee's status (§5).
STATUSES = {
    "RCVD": row(
        _l("The bank received the batch; it has not checked it yet."), _l("Nothing to do yet."), act=False
    ),
    "ACTC": row(
        _l("The bank accepted the batch's format and signatures."), _l("Nothing to do yet."), act=False
    ),
    "PDNG": row(
        _l("The batch is waiting for its value date or for clearing."),
        _l("Nothing to do yet: payees are paid on the value date."),
        act=False,
    ),
    "ACSC": row(_l("Paid: settlement completed for every payee."), _l("Nothing to do."), act=False),
    "PART": row(
        _l("Paid in part: some payees were paid, others rejected (each with its own reason)."),
        _l("Look at the rejected payees' reasons, fix their details, and pay them in a new batch."),
    ),
    "RJCT": row(
        _l("Rejected: nothing in the batch (or this payee) was paid."),
        _l("Read the reason code; fix what it names and pay in a new batch."),
    ),
}

#: The bank's validation codes (§6, FA-EC): the batch is RJCT and nothing was paid.
VALIDATION = {
    "EC004_101": row(_l("The batch's message id (x-Message-Id) was missing or not a UUID."), _OUR_SIDE),
    "EC004_102": row(
        _l("The bank already has a batch under this message id."),
        _l("Do not pay again: read the batch's status; it is the batch sent earlier."),
        act=False,
    ),
    "EC004_103": row(
        _l("The bank could not decrypt or verify the batch (keys or signature)."),
        _l(
            "Nothing was paid. Check with IT that our signing key and the bank's encryption key are current, "
            "then submit again."
        ),
    ),
    "EC004_104": row(_l("The batch did not match the bank's format."), _OUR_SIDE),
    "EC004_105": row(
        _l("The bank failed to process the batch on its side."), _l("Nothing was paid. Submit it again.")
    ),
    "EC004_106": row(
        _l("The batch's creation time was more than 24 hours old or in the future."),
        _l("Nothing was paid. Check the server clock with IT, then submit again."),
    ),
    "EC004_107": row(_l("More than one payment block in one request."), _OUR_SIDE),
    "EC004_108": row(_l("The batch total (control sum) did not match the payees' amounts."), _OUR_SIDE),
    "EC004_109": row(_l("The batch's count of payees did not match its payees."), _OUR_SIDE),
    "EC004_110": row(_l("The bank could not parse the batch (a field appeared twice)."), _OUR_SIDE),
    "EC004_201": row(
        _l("Our debit account number is not valid for Hong Kong."),
        _l("Nothing was paid. Check HKACH_DEBTOR_ACCOUNT with the bank, then submit again."),
    ),
    "EC004_202": row(
        _l("The batch had more than 1,000 payees (or none)."),
        _l("Nothing was paid. Split the batch and submit again."),
    ),
    "EC004_203": row(
        _l("The batch mixed currencies."),
        _l("Nothing was paid. Make one batch per currency and submit again."),
    ),
    "EC004_204": row(_l("This batch id was used before."), _FIX_BATCH),
    "EC004_205": row(_l("The batch id is longer than 20 characters."), _FIX_BATCH),
    "EC004_301": row(
        _l("A payee's proxy id (phone, email) is not valid: HK ACH pays account numbers only."), _OUR_SIDE
    ),
    "EC004_302": row(
        _l("A currency HK ACH does not carry (only HKD and CNY)."),
        _l("Nothing was paid. Pay other currencies another way (e.g. RTGS/CHATS)."),
    ),
    "EC004_303": row(_l("Two payees had the same instruction id."), _OUR_SIDE),
    "EC004_304": row(_l("A payee had both an account and a proxy id."), _OUR_SIDE),
    "EC004_305": row(_l("A payee's instruction id is longer than 20 characters."), _OUR_SIDE),
    "EC004_306": row(
        _l("A payee's name is missing."), _l("Nothing was paid. Add the employee's name and submit again.")
    ),
}

#: HTTP-level codes (§6, FA-EC general): the request itself was refused.
HTTP_LEVEL = {
    "EC000_001": row(
        _l("The bank had an internal error; the outcome is unknown."),
        _l(
            "Do not pay again yet: the back office asks the batch's status and resubmits only if the bank "
            "never received it."
        ),
        act=False,
    ),
    "EC000_002": row(_l("The bank refused our credentials (token, API key or signed assertion)."), _ASK_BANK),
    "EC000_003": row(_l("The bank refused the request as invalid."), _OUR_SIDE),
    "EC000_004": row(
        _l("The bank has no batch under this message id: it never received it."),
        _l("The back office resubmits it under the same id; nothing was paid."),
        act=False,
    ),
    "EC000_005": row(_l("The bank refused the request method."), _OUR_SIDE),
    "EC000_006": row(_l("The bank refused the request's media type."), _OUR_SIDE),
    "EC000_007": row(_l("The bank could not read the secured payload."), _OUR_SIDE),
}

#: ISO 20022 reason codes on a batch or a payee (§6); the payee was not paid.
REASONS = {
    "AC01": row(_l("The payee's account number has the wrong format."), _FIX_PAYEE),
    "AC02": row(
        _l("Our debit account number is not valid."), _l("Check HKACH_DEBTOR_ACCOUNT with the bank.")
    ),
    "AC03": row(_l("The payee's account number does not exist at their bank."), _FIX_PAYEE),
    "AC04": row(
        _l("The payee's account is closed."), _l("Ask the employee for another account, then pay them again.")
    ),
    "AC06": row(
        _l("The payee's account is blocked."),
        _l("Ask the employee to contact their bank or give another account."),
    ),
    "AC07": row(
        _l("The payee's account is closed."), _l("Ask the employee for another account, then pay them again.")
    ),
    "AG01": row(
        _l("The payee's account cannot receive this payment (its type forbids it)."),
        _l("Ask the employee for a savings or current account, then pay them again."),
    ),
    "AM02": row(_l("The amount is above the allowed maximum."), _l("Split the payment or pay another way.")),
    "AM03": row(
        _l("The currency is not allowed for HK ACH."),
        _l("Pay HKD or CNY only; other currencies another way."),
    ),
    "AM04": row(
        _l("Insufficient funds in our debit account: the whole batch was rejected."),
        _l("Fund the account, then submit the batch again as a new batch."),
    ),
    "AM05": row(
        _l("The bank sees this payment as a duplicate."), _l("Check the batch history before paying again.")
    ),
    "AM10": row(_l("The batch total did not match the payees' amounts."), _OUR_SIDE),
    "AM18": row(_l("The batch's count of payees did not match."), _OUR_SIDE),
    "BC01": row(_l("More than one payment block in one request."), _OUR_SIDE),
    "BE01": row(
        _l("The payee's name does not match the name on the account."),
        _l("Ask the employee for the exact account name (as on the bank's records), then pay them again."),
    ),
    "BE06": row(_l("The payee is unknown to their bank."), _FIX_PAYEE),
    "BE22": row(_l("A payee's name is missing."), _l("Add the employee's name and pay them again.")),
    "CH16": row(_l("An id is longer than the bank allows."), _OUR_SIDE),
    "DT01": row(
        _l("Invalid value date: in the past, a Sunday or a Hong Kong public holiday."),
        _l("Choose a value date Monday to Saturday that is not a holiday, and submit again."),
    ),
    "DT02": row(
        _l("The batch's creation time was not accepted."),
        _l("Check the server clock with IT, then submit again."),
    ),
    "DU02": row(_l("This batch id was used before."), _FIX_BATCH),
    "DU05": row(_l("Two payees had the same instruction id."), _OUR_SIDE),
    "RC08": row(
        _l("The payee's bank or branch code is not a Hong Kong clearing member."),
        _l("Check the 3-digit bank code and 3-digit branch code with the employee, then pay them again."),
    ),
    "TC01": row(_l("The batch had more than 1,000 payees."), _l("Split the batch and submit again.")),
    "TD03": row(_l("The bank could not read the batch (format, signature or message id)."), _OUR_SIDE),
    "TM01": row(
        _l("Received after the 17:55 HKT cut-off for same-day value."),
        _l("Submit again with the next working day as the value date."),
    ),
    "NARR": row(
        _l("Rejected for the reason given in the additional information (e.g. '(AM04) Insufficient funds')."),
        _l("Read the additional information; fix what it names and submit again as a new batch."),
    ),
}

GUIDANCE = GuidanceTable(general={**STATUSES, **VALIDATION, **HTTP_LEVEL, **REASONS})
