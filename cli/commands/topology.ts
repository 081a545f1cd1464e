import { Argument, Command, Option } from 'commander'
import { ConfigError, ErrorCode, RelaymeshError } from '../../src/errors.js'
import { needsRoutes, render, type RenderFormat, type TopologyQuery } from '../../topology/render.js'
import { parseSnapshot, type TopologySnapshot } from '../../topology/snapshot.js'
import { withCommonOptions } from '../common.js'

/** Where `relaymesh controller` serves its HTTP API unless told otherwise (--http). */
export const DEFAULT_CONTROLLER_HTTP = 'http://127.0.0.1:8080'
const DEFAULT_TIMEOUT_MS = 5_000

interface TopologyOptions {
  controllerHttp: string
  json?: boolean
  dot?: boolean
  timeout: string
}

const VIEWS = ['relays', 'links', 'routes', 'path'] as const
type View = typeof VIEWS[number]

export function topologyCommand (): Command {
  return withCommonOptions(new Command('topology'))
    .description('show the mesh as the controller sees it: relays, measured links, routes, or the path between two relays')
    .addArgument(new Argument('<view>', 'what to show').choices(VIEWS))
    .argument('[src]', 'routes: only this relay\'s routes; path: the source relay')
    .argument('[dst]', 'path: the destination relay')
    .option('--controller-http <url>', 'the controller\'s HTTP API: its --http address, as a URL or HOST:PORT', DEFAULT_CONTROLLER_HTTP)
    .addOption(new Option('--json', 'print the view as one JSON document').conflicts('dot'))
    .addOption(new Option('--dot', 'print a Graphviz map (render with: dot -Tsvg); path draws the path bold, routes SRC draws SRC\'s tree bold'))
    .option('--timeout <ms>', 'give up on the controller after this long', String(DEFAULT_TIMEOUT_MS))
    .addHelpText('after', `
Views:
  relays                 every relay, its address, and whether it is connected
  links                  every measured link: RTT, jitter, loss (percent), routing cost, state
  routes [SRC]           next hop, backup, cost and path for every pair (or only from SRC)
  path SRC DST           the hops from SRC to DST, each link's figures, and the totals

Examples:
  relaymesh topology routes --controller-http http://10.0.0.5:8080
  relaymesh topology path a c
  relaymesh topology links --dot | dot -Tsvg > mesh.svg

The data is GET /api/topology (docs/http-api.md). Costs are in ms-like units; ∞ marks an unusable link.`)
    .action(async (view: View, src: string | undefined, dst: string | undefined, opts: TopologyOptions) => {
      const query = queryOf(view, src, dst)
      const url = topologyUrl(opts.controllerHttp, needsRoutes(query))
      const snapshot = await fetchSnapshot(url, timeoutOf(opts.timeout))
      const format: RenderFormat = opts.json === true ? 'json' : opts.dot === true ? 'dot' : 'table'
      process.stdout.write(`${render(snapshot, query, format)}\n`)
    })
}

function queryOf (view: View, src: string | undefined, dst: string | undefined): TopologyQuery {
  const extra = (n: number): never => {
    throw new ConfigError(`'${view}' takes ${n === 0 ? 'no relay ids' : `at most ${n} relay id`}; for example relaymesh topology ${view === 'routes' ? 'routes a' : view}`)
  }
  switch (view) {
    case 'relays':
    case 'links':
      if (src !== undefined) extra(0)
      return { view }
    case 'routes':
      if (dst !== undefined) extra(1)
      return { view, src }
    case 'path':
      if (src === undefined || dst === undefined) throw new ConfigError('path needs SRC and DST; for example relaymesh topology path a c')
      return { view, src, dst }
  }
}

function timeoutOf (text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 600_000) throw new ConfigError(`--timeout '${text}' is not a whole number of ms from 1 to 600000`)
  return Number(text)
}

/** The /api/topology URL under the controller's base URL (which may carry a path, behind a proxy). */
function topologyUrl (base: string, routes: boolean): URL {
  // HOST:PORT is what the controller's own --http flag takes, so accept it here too.
  const text = base.includes('://') ? base : `http://${base}`
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(`--controller-http '${base}' is not a URL; for example --controller-http ${DEFAULT_CONTROLLER_HTTP}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`--controller-http '${base}' must be an http:// or https:// URL; for example --controller-http ${DEFAULT_CONTROLLER_HTTP}`)
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  const api = new URL('api/topology', url)
  if (!routes) api.searchParams.set('routes', 'false')
  return api
}

async function fetchSnapshot (url: URL, timeoutMs: number): Promise<TopologySnapshot> {
  const unreachable = (why: string, cause?: unknown): RelaymeshError => new RelaymeshError(ErrorCode.SOCKET,
    `cannot get the topology from ${url.href}: ${why}; check that --controller-http is the controller's --http address and that it is running`,
    { cause, retryable: true })
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } })
  } catch (err) {
    throw unreachable(fetchFailure(err, timeoutMs), err)
  }
  let body: string
  try {
    body = await res.text()
  } catch (err) {
    throw unreachable(fetchFailure(err, timeoutMs), err)
  }
  if (!res.ok) throw unreachable(`it answered ${res.status} ${res.statusText}${errorField(body)}`)
  try {
    return parseSnapshot(JSON.parse(body))
  } catch (err) {
    throw unreachable(`the answer is not a relaymesh topology (${(err as Error).message.split('\n')[0]})`)
  }
}

/** undici hides the useful part (ECONNREFUSED, ENOTFOUND …) in `cause`. */
function fetchFailure (err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return `no answer within ${timeoutMs} ms`
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  return cause?.code ?? cause?.message ?? (err as Error).message
}

function errorField (body: string): string {
  try {
    const e = (JSON.parse(body) as { error?: unknown }).error
    return typeof e === 'string' ? ` (${e})` : ''
  } catch {
    return ''
  }
}
