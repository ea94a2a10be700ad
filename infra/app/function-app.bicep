// The Flex Consumption plan and the function app (Python 3.11, Linux). It runs as the user-assigned identity
// for everything: the deployment package, the host's storage, Application Insights and the Language resources.
// Flex Consumption has no FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION or WEBSITE_* app settings:
// the runtime and its version live in functionAppConfig.runtime instead.

param name string
param planName string
param location string
param tags object = {}

@description('Name of the app\'s own storage account (deployment package, host state, step queue, snapshots).')
param storageAccountName string

@description('Blob container URL of the deployment package.')
param deploymentContainerUrl string

@description('Resource ID of the user-assigned managed identity the app runs as.')
param identityId string

@description('Client ID of that identity: DefaultAzureCredential and the host pick the identity by it.')
param identityClientId string

param applicationInsightsConnectionString string

@description('The product\'s settings (shared.settings.KNOWN_SETTINGS). Secure because they may carry Language keys.')
@secure()
param productSettings object

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// Every setting here is read by the Functions host or an Azure SDK; the product's own come in productSettings.
var hostSettings = {
  // Identity-based AzureWebJobsStorage: no connection string, no account key.
  AzureWebJobsStorage__blobServiceUri: 'https://${storageAccountName}.blob.${environment().suffixes.storage}'
  AzureWebJobsStorage__queueServiceUri: 'https://${storageAccountName}.queue.${environment().suffixes.storage}'
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // azure-identity's ManagedIdentityCredential (inside DefaultAzureCredential) picks the user-assigned identity.
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Entra ID ingestion, because the component has local auth disabled.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy is not what protects this app: it is itself the cross-region replica.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_17: client certificates are not how prediction callers authenticate (function keys over TLS).
  // checkov:skip=CKV_AZURE_222: prediction callers and the health and drift endpoints are reached over the internet (function keys over TLS); this template adds no VNet.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales out on demand; a minimum instance count is an always-ready cost this daily job does not need.
  // checkov:skip=CKV_AZURE_213: Flex Consumption has no App Service health check; the app exposes its own health endpoint.
  name: name
  location: location
  // azd deploys the "api" service of azure.yaml to the app carrying this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      appSettings: [for setting in items(union(hostSettings, productSettings)): {
        name: setting.key
        value: setting.value
      }]
      minTlsVersion: '1.2'
      http20Enabled: true
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
