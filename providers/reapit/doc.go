// Package reapit is the Reapit Foundations (UK) source: it verifies
// Reapit's webhooks, maps applicants.created and applicants.modified events
// to leads, and polls the Platform API for the applicants webhooks missed
// (Reapit gives up on a webhook after six tries in about 33 minutes, and
// never retries a 4xx).
//
// # Verification
//
// Config.Signature picks the scheme; both work on the raw body, before any
// parsing.
//
//   - ed25519: X-Signature: s:<kid>:<unix seconds>:<signature>, the
//     signature being Ed25519 over the seconds (decimal text, exactly as in
//     the header) followed by the body. The signature is base64url without
//     padding as Reapit sends it; the standard alphabet and correct '='
//     padding are tolerated, since what is verified is the 64 decoded bytes,
//     but the length, the padding and the trailing bits are checked
//     strictly. When MaxClockSkew is set the timestamp (which is signed) must
//     be within it, and is checked before any key lookup.
//   - legacy: Reapit-Webhook-Signature is the standard base64 of the client
//     id, compared in constant time. The client id is not much of a secret;
//     prefer ed25519.
//   - any: either header; the request passes when one of them does.
//
// Keys are found by kid in Config.PublicKeys, then in memory, then in
// Config.KeyCache, then fetched from GET {api_url}/webhooks/signing/{kid}
// with a client-credentials token, and kept in memory and the KeyCache. A
// kid is fetched at most once a minute whatever the outcome (concurrent
// requests share one fetch), and at most 10 distinct kids a minute in all,
// so a sender cannot make us hammer Reapit's API with made-up kids. A kid
// Reapit does not know (404, or absent from the key set) is a bad signature
// (401); a fetch that failed for any other reason is ErrUnavailable (503,
// so that Reapit retries), until the minute is up.
//
// # Events
//
// Parse turns a body into one event keyed source + customerId + topicId +
// entityId + eventId (one eventId fans out to several notifications). In
// this order:
//
//   - customerId webhook-test (the Ping button) → ignored, reason "ping";
//   - a topic not in Config.Topics → ignored, "topic X not configured";
//   - a customer not in Config.Customers (when set) → ignored, "customer X
//     not listed";
//   - a configured topic other than applicants.created/modified →
//     quarantined, "unsupported topic X";
//   - applicants.created → action created, applicants.modified → updated,
//     and new: null (deleted or archived) → deleted, mapped from old.
//
// A body that is not JSON or has no topicId or customerId is an error (the
// whole request is quarantined); an applicant that does not decode or has
// no id is a quarantined event. Customer SBOX (the sandbox) gives test:
// true.
//
// The version key is source + customerId + applicant id + _eTag (its
// modified time when it has none) + a digest of the mapped person, and is
// the same for a webhook and a poll of one change, so that the two are one
// event. The person is in it because applicants.modified also fires when a
// related contact changes, which need not change the applicant's _eTag. A
// deletion has no version key. The version (newest wins) is the applicant's
// modified time, else eventTime; a deletion's is its eventTime.
//
// # Mapping
//
// source: entity "applicant", entity_id the applicant id, customer_id the
// customerId, event_type the topicId, via webhook (reconcile for a poll),
// request_id null (Reapit sends none). occurred_at is eventTime for a
// webhook and modified for a poll.
//
// person comes from the first related entry of type contact that is not
// archived (fromArchive), else the first contact even if archived;
// companies are skipped, and with no contact the person is all null.
// forename → first_name, surname → last_name, name (as Reapit spells it,
// title included, e.g. "Mr John Smith") → full_name, else forename and
// surname; phone is the first of mobilePhone, homePhone, workPhone;
// marketingConsent grant → true, deny → false, anything else (notAsked) →
// null; preferred_contact is null. primaryAddress becomes:
//
//   - street: "<buildingName>, <buildingNumber> <line1>", leaving out what
//     is blank ("15 Example street", "Rose Cottage, High Street");
//   - city: Reapit's lines after line1 run from locality to county, so with
//     all of line2, line3 and line4 filled line3 is the town, and otherwise
//     line2 is (line3 when line2 is blank). The county is not kept;
//   - postal_code: postcode; country: countryId (ISO 3166, e.g. GB).
//
// interest: intent from marketingMode, buying → buy, renting → rent (the
// two values Reapit documents), buyingAndRenting → buy, selling → sell,
// letting → let, sellingAndLetting → sell, anything else → other. Prices
// come from renting.rentFrom/rentTo when the intent is rent or let and from
// buying.priceFrom/priceTo otherwise, falling back to the other block when
// the first gives none; rents are converted to per calendar month (weekly ×
// 52/12, annually ÷ 12, rounded to pennies; monthly or an unknown frequency
// as given). Zero, which Reapit sends for "not set", is null. bedroomsMin
// → bedrooms_min when it is a whole number from 1 up. currency is the
// applicant's
// currency. areas are locationOptions (area ids, or free text when
// locationType is addresses). message is notes, verbatim. reason is
// buying.reasonId (Reapit's id of the buying reason) or null. form is the
// applicant's source as "<type>:<id>", e.g. "source:RMV" (the id alone
// when the type is blank), null when there is none. listing and
// preapproved_mortgage are null: an applicant names no property.
//
// assignment: office_ids and negotiator_ids as Reapit orders them (the
// first is the primary one); agent and agency are null, since an applicant
// carries only ids (customer_id already names the agency).
//
// # Reconciliation
//
// Poll pages through GET {api_url}/applicants/?modifiedFrom=…&sortBy=modified
// &pageSize=100&pageNumber=N for one customer (headers reapit-customer and
// api-version 2020-01-31) until pageNumber reaches totalPageCount, and
// commits every page before fetching the next. An applicant is mapped as
// above, via reconcile, event_type applicants.created with action created
// when its created and modified times are equal (it never changed) and
// applicants.modified with action updated otherwise. Its event key is
// source + customer + "poll" + id + version, distinct from any webhook's;
// its version key and entity key are a webhook's. Paging by page number
// can skip an applicant that moves to a later page while a run pages (it
// was modified meanwhile, so the next run sees it), or that shifts to an
// earlier page when another moves away; the reconcile overlap covers the
// latter.
//
// All Platform API calls of a Source (polls and key fetches) share a token
// bucket of 10 requests a second with a burst of 5, under Reapit's 20. The
// access token (client-credentials flow, Basic auth) is reused until 60s
// before it expires, concurrent callers share one refresh, and an API call
// answered 401 refreshes it once and is retried.
package reapit
