// CloudFront Function (cloudfront-js-2.0), viewer request on /images/*: picks the stored format from Accept and
// rewrites the URI to that object, so the cache key is the URL of what is served and never the raw Accept header.
// It mirrors aperture.cdn.candidate_keys(key, accept)[0] rule for rule (tests/unit/test_edge_negotiation.py runs
// both over the same table): AVIF if named, else WebP if named, else the URL's own format when Accept is absent or
// only wildcards, else JPEG; a type with q=0 is not named. A missing AVIF falls back to WebP at the origin
// (edge/origin/images.py). Any other path passes through unchanged.

// A carousel's photos 1..9 sit one level down: /images/{user}/{post}/{item}/{size}.{ext}
var IMAGE_PATH = /^\/images\/[0-9]+\/[0-9]+\/(?:[1-9]\/)?(?:150|640|1080)\.(jpg|webp|avif)$/;
var TYPES = { 'image/avif': 'avif', 'image/webp': 'webp', 'image/jpeg': 'jpg' };
var REFUSED = { 'q=0': true, 'q=0.0': true, 'q=0.00': true, 'q=0.000': true };
var WILDCARDS = { '': true, '*/*': true, 'image/*': true };
// Python's str.strip() whitespace (not JavaScript's trim()), so odd headers split exactly as aperture.cdn's do.
var SPACE = '[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+';
var EDGES = new RegExp('^' + SPACE + '|' + SPACE + '$', 'g');

function strip(text) {
    return text.replace(EDGES, '');
}

function choose(accept, own) {
    var parts = accept.toLowerCase().split(',');
    var named = {};
    var wildcardOnly = true;
    for (var i = 0; i < parts.length; i++) {
        var fields = parts[i].split(';');
        var media = strip(fields[0]);
        if (!WILDCARDS[media]) {
            wildcardOnly = false;
        }
        var refused = false;
        for (var j = 1; j < fields.length; j++) {
            if (REFUSED[strip(fields[j]).split(' ').join('')]) {
                refused = true;
            }
        }
        if (!refused && TYPES[media]) {
            named[TYPES[media]] = true;
        }
    }
    if (named.avif) {
        return 'avif';
    }
    if (named.webp) {
        return 'webp';
    }
    return wildcardOnly ? own : 'jpg';
}

function handler(event) {
    var request = event.request;
    var match = IMAGE_PATH.exec(request.uri);
    if (match === null) {
        return request;
    }
    var header = request.headers.accept;
    var accept = header && header.value ? header.value : '';
    request.uri = request.uri.slice(0, request.uri.lastIndexOf('.') + 1) + choose(accept, match[1]);
    return request;
}
