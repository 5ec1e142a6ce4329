// CloudFront Function (cloudfront-js-2.0), viewer request on the web app's distribution: the app routes by URL
// (/app/u/alice, /app/p/123...), so a path under /app/ that names no file is served index.html; / and /app go to
// /app/. Files are the built assets (/app/assets/...) and the top-level files (/app/favicon.svg, /app/config.json);
// a username may hold a dot, so a dot elsewhere does not make a path a file. It mirrors local.gateway.web_target,
// which the local runtime uses (tests/unit/test_web_routes.py runs both over the same table).

var APP = '/app/';
var ASSETS = '/app/assets/';

function redirect(location) {
    return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: location } } };
}

function handler(event) {
    var request = event.request;
    var uri = request.uri;
    if (uri === '/' || uri === '/app') {
        return redirect(APP);
    }
    if (uri.indexOf(APP) !== 0 || uri.indexOf(ASSETS) === 0) {
        return request;
    }
    var rest = uri.substring(APP.length);
    if (rest.indexOf('/') !== -1 || rest.indexOf('.') === -1) {
        request.uri = APP + 'index.html';
    }
    return request;
}
