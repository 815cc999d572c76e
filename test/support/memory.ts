import { Layer } from "effect"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import * as CacheStore from "../../src/capabilities/cache/CacheStore.ts"
import * as Transactions from "../../src/capabilities/database/Transactions.ts"
import * as JobQueue from "../../src/capabilities/queue/JobQueue.ts"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import * as AccessTokens from "../../src/features/auth/AccessTokens.ts"
import * as LoginThrottle from "../../src/features/auth/LoginThrottle.ts"
import * as Passwords from "../../src/features/accounts/Passwords.ts"
import * as Sessions from "../../src/features/accounts/Sessions.ts"
import * as AccountsRepository from "../../src/features/accounts/AccountsRepository.ts"
import * as Assets from "../../src/features/assets/Assets.ts"
import * as AssetsRepository from "../../src/features/assets/AssetsRepository.ts"
import * as Designs from "../../src/features/designs/Designs.ts"
import * as DesignsRepository from "../../src/features/designs/DesignsRepository.ts"
import * as RenderJobsRepository from "../../src/features/jobs/RenderJobsRepository.ts"
import * as OrdersRepository from "../../src/features/orders/OrdersRepository.ts"
import * as Subscriptions from "../../src/features/subscriptions/Subscriptions.ts"
import * as SubscriptionsRepository from "../../src/features/subscriptions/SubscriptionsRepository.ts"

/**
 * Every service the auth and users use cases need, on in-memory layers: accounts in a Map,
 * the cache in memory (expiry by the Effect Clock, so TestClock moves it), jobs collected in
 * `EnqueuedJobs`, bcrypt at its minimum cost, the fake language model and the memory vector index. Build it fresh per test (`Layer.fresh` or
 * `it.effect(..., Effect.provide(memoryLayer()))`).
 */
export const memoryLayer = (config: Partial<AppConfig.AppSettings> = {}) =>
  Layer.mergeAll(
    AccountsRepository.layerMemory,
    Passwords.layerTest,
    AccessTokens.layer,
    LoginThrottle.layer,
    OrdersRepository.layerMemory,
    RenderJobsRepository.layerMemory,
    Designs.layerLookup,
    Subscriptions.layerLookup,
    Designs.layerDesignUsage,
    Assets.layerImageReferences
  ).pipe(
    Layer.provideMerge(Layer.mergeAll(Sessions.layer, DesignsRepository.layerMemory, SubscriptionsRepository.layerMemory, AssetsRepository.layerMemory)),
    Layer.provideMerge(Layer.mergeAll(CacheStore.layerMemory, JobQueue.layerMemory, Transactions.layerMemory, LanguageModel.layerMemory, VectorIndex.layerMemory)),
    Layer.provideMerge(AppConfig.layerTest(config))
  )
