// Debian's Chromium, driven by npm's playwright-core, one JSON command per line on stdin
// and one JSON reply per line on stdout, so that Python tests can script browsers while
// their agent writes into the same transcript:
//
//   node tests/web/driver.mjs BASE_URL
//   > {"op": "open", "tab": "ana", "offline": false}
//   < {"ok": true, "value": null}
//
// Ops: open {tab, viewport?, locale?}; login {tab, username, password}; goto {tab, hash};
// eval {tab, js, arg?} (a function's source, called with arg; its result is the value);
// wait {tab, js, arg?, timeout_ms?} (until the function returns something truthy);
// click {tab, selector}; fill {tab, selector, text}; press {tab, selector, key};
// type {tab, selector, text, delay_ms?}; caret {tab, selector, index} (null: the end);
// select {tab, selector, value}; download {tab, selector} ({name, text} of the file);
// media {tab, media} ("print" or null); sockets {tab} (websockets opened so far);
// offline {tab, offline}; screenshot {tab, path}; errors {tab}; close {tab};
// reopen {tab, online?} (close the page, open a new one in the same context); quit.
// A failure replies {"ok": false, "error": "..."} and the driver goes on.
import { createRequire } from 'node:module'
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'

const require = createRequire(new URL('../../web/package.json', import.meta.url))
const { chromium } = require('playwright-core')

const base = process.argv[2]
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage']
})
const tabs = new Map()

const page = (name) => {
  const tab = tabs.get(name)
  if (!tab) throw new Error(`no tab ${name}`)
  return tab.page
}

/** A new page in the tab's browser context (its cookies and localStorage), at the base URL. */
async function newPage (tabState) {
  const p = await tabState.context.newPage()
  tabState.page = p
  p.on('websocket', () => { tabState.sockets++ })
  p.on('pageerror', (err) => tabState.errors.push(String(err)))
  p.on('console', (msg) => { if (msg.type() === 'error') tabState.errors.push(msg.text()) })
  await p.goto(base + '/')
}

const ops = {
  async open ({ tab, viewport = { width: 1280, height: 800 }, locale = 'en-US' }) {
    const context = await browser.newContext({ viewport, locale })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
    const tabState = { context, page: null, errors: [], sockets: 0 }
    tabs.set(tab, tabState)
    await newPage(tabState)
  },
  async reopen ({ tab, online = null }) {
    // As a person closing the tab (no "leave this page?" prompt) and opening a new one,
    // perhaps once the network is back (online: true).
    const tabState = tabs.get(tab)
    await tabState.page.close({ runBeforeUnload: false })
    if (online !== null) await tabState.context.setOffline(!online)
    await newPage(tabState)
  },
  async login ({ tab, username, password }) {
    const p = page(tab)
    await p.fill('input[name=username]', username)
    await p.fill('input[name=password]', password)
    await p.click('form.login button[type=submit]')
    await p.waitForSelector('section.list, .view', { state: 'attached', timeout: 10_000 })
  },
  async goto ({ tab, hash }) {
    await page(tab).evaluate((h) => { location.hash = h }, hash)
  },
  async eval ({ tab, js, arg = null }) {
    return page(tab).evaluate(`(${js})(${JSON.stringify(arg)})`)
  },
  async wait ({ tab, js, arg = null, timeout_ms = 15_000 }) {
    const handle = await page(tab).waitForFunction(`(${js})(${JSON.stringify(arg)})`, null,
      { timeout: timeout_ms, polling: 50 })
    return handle.jsonValue()
  },
  async click ({ tab, selector }) { await page(tab).click(selector) },
  async fill ({ tab, selector, text }) { await page(tab).fill(selector, text) },
  async press ({ tab, selector, key }) { await page(tab).press(selector, key) },
  async type ({ tab, selector, text, delay_ms = 0 }) {
    await page(tab).locator(selector).pressSequentially(text, { delay: delay_ms })
  },
  async caret ({ tab, selector, index }) {
    await page(tab).locator(selector).evaluate((el, i) => {
      el.focus()
      const at = i ?? el.value.length // null: the end of the text as it is now
      el.setSelectionRange(at, at)
    }, index)
  },
  async select ({ tab, selector, value }) { await page(tab).selectOption(selector, value) },
  async download ({ tab, selector }) {
    const p = page(tab)
    const [file] = await Promise.all([p.waitForEvent('download'), p.click(selector)])
    return { name: file.suggestedFilename(), text: await readFile(await file.path(), 'utf8') }
  },
  async media ({ tab, media }) { await page(tab).emulateMedia({ media }) },
  async sockets ({ tab }) { return tabs.get(tab).sockets },
  async offline ({ tab, offline }) { await tabs.get(tab).context.setOffline(offline) },
  async screenshot ({ tab, path }) { await page(tab).screenshot({ path, fullPage: true }) },
  async errors ({ tab }) { return tabs.get(tab).errors },
  async close ({ tab }) {
    await tabs.get(tab)?.context.close()
    tabs.delete(tab)
  }
}

const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
reply({ ok: true, value: 'ready' })
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue
  const command = JSON.parse(line)
  if (command.op === 'quit') break
  try {
    const value = await ops[command.op](command)
    reply({ ok: true, value: value ?? null })
  } catch (err) {
    reply({ ok: false, error: String(err?.message ?? err).slice(0, 2000) })
  }
}
await browser.close()
