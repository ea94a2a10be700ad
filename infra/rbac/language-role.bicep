// One role assignment on one Language (Cognitive Services) account. The caller names the role; its GUID and
// role name are listed once, in main.bicep's roles variable.

@description('Name of the Language account, in the resource group this module is deployed to.')
param languageAccountName string

@description('Object ID of the principal that receives the role.')
param principalId string

@description('GUID of the role definition.')
param roleDefinitionId string

param principalType string = 'ServicePrincipal'

resource language 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: languageAccountName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(language.id, principalId, roleDefinitionId)
  scope: language
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}

output id string = assignment.id
