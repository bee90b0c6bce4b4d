# crawl/scrapy: a Scrapy spider following every same-site link, robots.txt obeyed, same limits.
import json
import os
import resource
import sys
import time

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor


def arg(name, default):
    for a in sys.argv[1:]:
        if a.startswith(f'--{name}='):
            return a.split('=', 1)[1]
    return default


site = arg('site', 'pages=10000,extras=0')
pages = int(arg('pages', '10000'))
concurrency = int(arg('concurrency', '32'))
# A site served by nginx (the profile cases) is given whole.
root = os.environ.get('SITE_URL') or f"{os.environ['LAB_URL']}/site/{site}/"
seen = set()


class SiteSpider(scrapy.Spider):
    name = 'site'
    start_urls = [root]
    links = LinkExtractor(allow=(), unique=True)

    def parse(self, response):
        # Start requests are never filtered as duplicates, so the home page comes twice: count URLs.
        seen.add(response.url)
        for link in self.links.extract_links(response):
            if link.url.startswith(root):
                yield response.follow(link.url, self.parse)


process = CrawlerProcess(settings={
    'LOG_LEVEL': 'ERROR',
    'ROBOTSTXT_OBEY': True,
    'CONCURRENT_REQUESTS': concurrency,
    'CONCURRENT_REQUESTS_PER_DOMAIN': concurrency,
    'DOWNLOAD_DELAY': 0,
    'TELNETCONSOLE_ENABLED': False,
    'RETRY_ENABLED': False,
    'COOKIES_ENABLED': False,
})
start = time.perf_counter()
process.crawl(SiteSpider)
process.start()
seconds = time.perf_counter() - start
count = len(seen)
if count != pages:
    print(f'scrapy crawled {count} pages, expected {pages}', file=sys.stderr)
    sys.exit(1)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'value': count / seconds, 'rss_mb': round(rss, 1)}))
